"""Generation bumps: how every kind of write makes dependent cached responses unreachable.

A write to a resource bumps its generation in the writer's organization and
in the platform scope, and their counts generations unless the caller knows
the write cannot change a count (``counts=False``: an update of fields no
aggregate filters or groups on). It bumps once right away and once more after the
surrounding transaction commits: the second bump makes unreachable anything a
concurrent reader cached from the pre-commit state in between; the first keeps
single-connection callers (tests, shells) that never commit coherent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Model

from enterprise.cache.keys import (
    bulk_generation_key,
    counts_generation_key,
    generation_key,
    object_generation_key,
)
from enterprise.cache.stores import get_store
from perfmon.prometheus import CACHE_EVENTS


def resource_generation_keys(
    *,
    organization_ids: Iterable[str | None],
    resources: Iterable[str],
    object_ids: Iterable[str] = (),
    bulk: bool = False,
    counts: bool = True,
) -> list[str]:
    """The generations a write touches: the scopes' list (and, with ``counts``, counts)
    generations, plus the written objects' own generations, or (for writes that do not
    name their objects) the scopes' bulk generations."""
    resources = list(resources)
    scopes = ["platform", *(f"org:{o}" for o in sorted({o for o in organization_ids if o}))]
    keys = [generation_key(scope, r) for scope in scopes for r in resources]
    if counts:
        keys += [counts_generation_key(scope, r) for scope in scopes for r in resources]
    if bulk:
        keys += [bulk_generation_key(scope, r) for scope in scopes for r in resources]
    keys += [object_generation_key(r, object_id) for object_id in object_ids for r in resources]
    return keys


def changes_counts(model: type, fields: Iterable[str] | None) -> bool:
    """Whether writing ``fields`` of ``model`` rows can change an aggregate of counts.

    ``None`` (a full save: a create, the admin's save) always can; so can any
    write of a model that declares no ``COUNTED_FIELDS``.
    """
    counted = getattr(model, "COUNTED_FIELDS", None)
    return fields is None or counted is None or not counted.isdisjoint(fields)


def bump_resources(
    *,
    organization_ids: Iterable[str | None],
    resources: Iterable[str],
    object_ids: Iterable[str] = (),
    bulk: bool = False,
    counts: bool = True,
) -> None:
    """Bump now, and again after commit when a transaction is open.

    ``object_ids`` names the objects written (their detail entries die);
    ``bulk`` marks a write that cannot name them (every detail of the scopes dies);
    ``counts=False`` says the write cannot change any count (aggregates survive it).
    """
    resources = tuple(resources)
    keys = resource_generation_keys(
        organization_ids=organization_ids,
        resources=resources,
        object_ids=tuple(object_ids),
        bulk=bulk,
        counts=counts,
    )
    store = get_store()
    store.bump(keys, resources)
    for resource in resources:
        CACHE_EVENTS.labels(resource, "invalidation").inc()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: store.bump(keys, ()))


def flush_on_write(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    """``post_save`` / ``post_delete`` receiver of every cached model: bump what the write touches.

    That is the row's organization generations and its ``cache_object_ids``
    (its own, and for an assignment its provider's and clinic's "assignments
    of" generations). ``update_fields`` decides whether the counts generations
    move (a rename leaves the summary cached, see ``changes_counts``).
    """
    sender.objects.bump_written(instance, fields=kwargs.get("update_fields"))


def connect_write_flushes(model: type[Model]) -> None:
    """Connect ``flush_on_write`` to ``model``'s saves and deletes (from its app's ``ready()``)."""
    from django.db.models.signals import post_delete, post_save

    label = model._meta.label_lower
    post_save.connect(flush_on_write, sender=model, dispatch_uid=f"flush_on_write:{label}:save")
    post_delete.connect(flush_on_write, sender=model, dispatch_uid=f"flush_on_write:{label}:delete")
