"""Cache-aside getters for single objects' representations, with multi-get for batches.

Entries are the serialized (camelCase) representation of one object under the
same generations as the resource's responses, so every write that invalidates
the lists and details of a resource invalidates its cached objects too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from enterprise.cache.keys import generation_keys, object_key_base
from enterprise.cache.stores import get_store
from enterprise.tenancy import Scope


def cached_representations(
    *,
    scope: Scope,
    resource: str,
    ids: Iterable[str],
    load: Callable[[list[str]], dict[str, dict[str, Any]]],
    ttl_seconds: int,
) -> dict[str, dict[str, Any]]:
    """Representations of ``ids`` visible to ``scope``: one store round trip, then ``load`` for the rest.

    ``load(missing_ids)`` must apply the scope itself (it is called with ids
    only) and return ``{id: representation}``; ids it does not return are
    absent from the result (unknown or another tenant's).
    """
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    store = get_store()
    bases = [object_key_base(scope, resource, object_id) for object_id in wanted]
    keys, found = store.get_objects(generation_keys(scope, (resource,)), bases)
    result = {
        object_id: orjson.loads(found[base])
        for object_id, base in zip(wanted, bases, strict=True)
        if base in found
    }
    missing = [object_id for object_id in wanted if object_id not in result]
    store.count(resource, "object_hit", len(result))
    if missing:
        store.count(resource, "object_miss", len(missing))
        loaded = load(missing)
        result.update(loaded)
        if keys:
            key_for = dict(zip(wanted, keys, strict=True))
            store.set_objects(
                {key_for[i]: orjson.dumps(rep) for i, rep in loaded.items()}, ttl_seconds
            )
    return result
