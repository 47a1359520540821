"""Liveness and readiness: can this process reach its database and its cache?"""

from __future__ import annotations

from typing import Any

from django.db import connections

from enterprise.cache.stores import RedisStore, get_store

VERSION = "1.0.0"


def database_ok(alias: str = "default") -> bool:
    """One trivial round trip (``SELECT 1``, or a ``ping`` command on MongoDB)."""
    connection = connections[alias]
    try:
        if connection.vendor == "mongodb":
            connection.database.command("ping")
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
    except Exception:
        return False
    return True


def cache_state() -> str:
    """``ok`` (Redis answers), ``down`` (Redis configured but not answering) or ``local`` (no Redis)."""
    store = get_store()
    if not isinstance(store, RedisStore):
        return "local"
    try:
        store.client.ping()
    except Exception:
        return "down"
    return "ok"


def breaker_states() -> dict[str, str]:
    from enterprise.resilience.breakers import all_breakers

    return {b.name: b.state for b in all_breakers()}


def health() -> tuple[int, dict[str, Any]]:
    """200 when the database answers (a dead cache or an open breaker only degrade), 503 otherwise.

    No internals: states only, never hosts, errors or versions of dependencies.
    """
    database = "ok" if database_ok() else "down"
    cache = cache_state()
    breakers = breaker_states()
    if database != "ok":
        status = "unavailable"
    elif cache == "down" or any(state != "closed" for state in breakers.values()):
        status = "degraded"
    else:
        status = "ok"
    body = {
        "status": status,
        "checks": {"database": database, "cache": cache, "breakers": breakers},
        "version": VERSION,
    }
    return (200 if database == "ok" else 503), body
