"""Generation bumps: how every kind of write makes dependent cached responses unreachable.

A write to a resource bumps its generation in the writer's organization and
in the platform scope. It bumps once right away and once more after the
surrounding transaction commits: the second bump makes unreachable anything a
concurrent reader cached from the pre-commit state in between; the first keeps
single-connection callers (tests, shells) that never commit coherent.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from enterprise.cache.keys import generation_key
from enterprise.cache.stores import get_store


def resource_generation_keys(
    *, organization_ids: Iterable[str | None], resources: Iterable[str]
) -> list[str]:
    resources = list(resources)
    keys = [generation_key("platform", r) for r in resources]
    for organization_id in {o for o in organization_ids if o}:
        keys += [generation_key(f"org:{organization_id}", r) for r in resources]
    return keys


def bump_resources(*, organization_ids: Iterable[str | None], resources: Iterable[str]) -> None:
    """Bump now, and again after commit when a transaction is open."""
    resources = tuple(resources)
    keys = resource_generation_keys(organization_ids=organization_ids, resources=resources)
    store = get_store()
    store.bump(keys, resources)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: store.bump(keys, ()))
