"""Where generations, cached responses and cached objects live: Redis, or this machine.

``RedisStore`` (``REDIS_URL`` set) answers a response lookup in one round
trip: a server-side script reads the epoch and the resource generations,
builds the entry key, reads the entry, takes the single-flight lock when the
entry is soft-expired or absent, and counts the outcome.

``LocalStore`` (no ``REDIS_URL``) keeps entries in each process's memory but
the generations in small files shared by every gunicorn worker on the host:
each lookup reads the current generations, so a write made through one worker
is never answered with a stale entry by another.

Both degrade to "no cache" instead of failing a request: Redis errors are
counted, logged once per interval, and back off for ``ERROR_BACKOFF`` seconds
so a dead Redis does not cost a connect timeout per request. A generation
bump that could not be written is retried, together with an epoch bump, as
soon as Redis answers again.
"""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from enterprise.cache.conf import cache_settings
from enterprise.cache.stores.base import HIT, MISS, REBUILD, STALE, WAIT, Lookup, Store
from enterprise.cache.stores.local import LocalStore
from enterprise.cache.stores.redis import RedisStore

__all__ = [
    "HIT",
    "MISS",
    "REBUILD",
    "STALE",
    "WAIT",
    "LocalStore",
    "Lookup",
    "RedisStore",
    "Store",
    "get_store",
    "reset_store",
]

_store: Store | None = None
_store_lock = threading.Lock()


def get_store() -> Store:
    """The process's store, built on first use (never at import, so a dead Redis cannot stop start-up)."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                _store = _build_store()
    return _store


def reset_store() -> None:
    """Forget the process's store (tests, and after settings change)."""
    global _store
    _store = None
    cache_settings.cache_clear()
    from enterprise.resilience.breakers import reset_breakers

    reset_breakers()  # their storage and settings follow the store


def _build_store() -> Store:
    if getattr(settings, "REDIS_URL", ""):
        from django_redis import get_redis_connection

        return RedisStore(get_redis_connection("default"))
    conf = cache_settings()
    directory = Path(conf["LOCAL_DIR"] or Path(settings.VAR_DIR) / "cache" / "generations")
    return LocalStore(directory, conf["LOCAL_MAX_ENTRIES"])
