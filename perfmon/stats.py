"""Response-cache statistics for the monitoring API and the dashboard."""

from __future__ import annotations

from typing import Any

from enterprise.cache.keys import RESOURCES
from enterprise.cache.stores import RedisStore, get_store

OUTCOMES = ("hit", "miss", "stale", "set", "invalidation", "object_hit", "object_miss")


def _rates(figures: dict[str, int]) -> dict[str, Any]:
    lookups = figures["hit"] + figures["miss"] + figures["stale"]
    return {
        "hits": figures["hit"],
        "misses": figures["miss"],
        "staleHits": figures["stale"],
        "stores": figures["set"],
        "invalidations": figures["invalidation"],
        "hitRate": round((figures["hit"] + figures["stale"]) / lookups, 4) if lookups else None,
        # Entries cached one by one (enterprise.cache.objects): representations embedded in other
        # responses (a provider-clinics page's clinics) and the counts of list pages.
        "objectHits": figures["object_hit"],
        "objectMisses": figures["object_miss"],
    }


def cache_stats() -> dict[str, Any]:
    """Hit rate per resource and overall, with key count and memory where the store knows them.

    On Redis the counters are shared by every worker on every host; the local
    store's are this worker's own (``"countersScope": "process"``).
    """
    store = get_store()
    counters = store.counters()
    per_resource: dict[str, dict[str, int]] = {r: dict.fromkeys(OUTCOMES, 0) for r in RESOURCES}
    for key, n in counters.items():
        resource, _, outcome = key.rpartition(":")
        if resource in per_resource and outcome in OUTCOMES:
            per_resource[resource][outcome] += n
    overall = {o: sum(figures[o] for figures in per_resource.values()) for o in OUTCOMES}
    return {
        "store": store.name,
        "countersScope": "cluster" if isinstance(store, RedisStore) else "process",
        "backingOff": getattr(getattr(store, "gate", None), "backing_off", False),
        "overall": _rates(overall),
        "resources": {resource: _rates(figures) for resource, figures in per_resource.items()},
        "server": store.info(),
    }
