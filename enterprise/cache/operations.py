"""Operator actions on the response cache, shared by ``clear_cache`` and the monitoring API."""

from __future__ import annotations

from dataclasses import dataclass

from enterprise.cache.invalidation import resource_generation_keys
from enterprise.cache.keys import epoch_key, generation_key
from enterprise.cache.stores import get_store


@dataclass(frozen=True)
class ClearResult:
    store: str
    keys: list[str]
    ok: bool


def clear_response_cache(
    *,
    everything: bool,
    resources: tuple[str, ...],
    organization_ids: tuple[str, ...],
    dry_run: bool = False,
) -> ClearResult:
    """Make cached responses unreachable by bumping generations; returns the keys bumped.

    ``everything`` bumps the epoch; with ``organization_ids`` the resources'
    generations of those organizations (and of the platform scope, which spans
    them); otherwise the resources' every-tenant generations.
    """
    store = get_store()
    if everything:
        keys = [epoch_key()]
    elif organization_ids:
        keys = resource_generation_keys(organization_ids=organization_ids, resources=resources)
    else:
        keys = [generation_key("all", resource) for resource in resources]
    ok = True if dry_run else store.bump(keys, () if everything else resources)
    return ClearResult(store=store.name, keys=keys, ok=ok)
