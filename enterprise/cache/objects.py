"""Cache-aside getters for single objects' representations, with multi-get for batches.

Entries are the serialized (camelCase) representation of one object under the
same generations as the resource's responses, so every write that invalidates
the lists and details of a resource invalidates its cached objects too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from django.db.models import Model

from enterprise.cache.keys import generation_keys, object_generation_key, object_key_base
from enterprise.cache.stores import get_store
from enterprise.tenancy import Scope


def cached_objects(
    *,
    model: type[Model],
    serializer_class: type,
    scope: Scope,
    resource: str,
    ids: Iterable[str],
    ttl_seconds: int,
    dependencies: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """``cached_representations`` for rows of ``model`` in ``scope``, loaded with one ``pk__in``.

    The scoped queryset is built only when some object missed (building it is
    most of the cost of a batch whose objects were all cached).
    """
    from enterprise.api.serializers import reader_for

    def load(missing: list[str]) -> dict[str, dict[str, Any]]:
        reader = reader_for(serializer_class)
        rows = model.objects.for_scope(scope).filter(pk__in=missing).order_by()
        return {row.pk: reader.to_representation(row) for row in rows}

    return cached_representations(
        scope=scope,
        resource=resource,
        ids=ids,
        load=load,
        ttl_seconds=ttl_seconds,
        dependencies=dependencies,
    )


def cached_representations(
    *,
    scope: Scope,
    resource: str,
    ids: Iterable[str],
    load: Callable[[list[str]], dict[str, dict[str, Any]]],
    ttl_seconds: int,
    dependencies: dict[str, str] | None = None,
    depends_on: tuple[str, ...] = (),
    counts_only: bool = False,
) -> dict[str, dict[str, Any]]:
    """Representations of ``ids`` visible to ``scope``: one store round trip, then ``load`` for the rest.

    Each object is cached under its own generation (a write to one clinic
    evicts that clinic only). ``load(missing_ids)`` must apply the scope itself
    and return ``{id: representation}``; ids it does not return are absent from
    the result (unknown or another tenant's). With ``dependencies``, the
    objects' generations *as read before loading* are added to it, for a
    response that embeds them to record (see ``CachedResponse.deps``).

    ``depends_on`` adds the scope's generations of those resources (its counts
    generations with ``counts_only``), for values that are not one object's
    (a list's row count): any write to them in the scope evicts the value.
    """
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    store = get_store()
    bases = [object_key_base(scope, resource, object_id) for object_id in wanted]
    common = generation_keys(scope, depends_on, embeds=(resource,), counts_only=counts_only)
    object_gens = [object_generation_key(resource, object_id) for object_id in wanted]
    keys, gens, found = store.get_objects(common, object_gens, bases, resource)
    if dependencies is not None:
        if gens:
            dependencies.update(zip(object_gens, gens, strict=True))
        else:
            dependencies["unavailable"] = "1"  # the store did not answer: never cache the response
    result = {
        object_id: orjson.loads(found[base])
        for object_id, base in zip(wanted, bases, strict=True)
        if base in found
    }
    missing = [object_id for object_id in wanted if object_id not in result]
    if missing:
        loaded = load(missing)
        result.update(loaded)
        if keys:  # the store answered: store what was loaded, and count the misses with it
            key_for = dict(zip(wanted, keys, strict=True))
            store.set_objects(
                {key_for[i]: orjson.dumps(rep) for i, rep in loaded.items()},
                ttl_seconds,
                resource,
                missed=len(missing),
            )
    return result
