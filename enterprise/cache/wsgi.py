"""The lean hit path: answer cached GETs at the WSGI boundary, before Django builds a request.

A hit needs the route's policy, the caller's scope and one store round trip;
it does not need an ``HttpRequest``, the middleware chain, DRF or the
database, so none of them run. The stored entry carries the headers the full
stack produced (security headers included), so a hit is byte-for-byte the
response a miss returned, plus ``X-Cache``. Everything else, and every miss,
goes to Django with the lookup attached to the environ so the response-cache
middleware stores the result without a second lookup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from enterprise.cache.conf import cache_settings
from enterprise.cache.entries import CachedResponse
from enterprise.cache.gate import prepare, wsgi_host
from enterprise.cache.stores import HIT, STALE, WAIT, Lookup, Store, get_store

ENVIRON_KEY = "enterprise.cache"
_REASONS = {200: "200 OK"}


def entry_headers(entry: CachedResponse, state: str) -> list[tuple[str, str]]:
    headers = [("Content-Type", entry.content_type), ("Content-Length", str(len(entry.body)))]
    headers += list(entry.headers.items())
    headers.append(("X-Cache", "STALE" if state == STALE else "HIT"))
    if state == STALE:
        headers.append(("Age", str(entry.age_seconds)))
    return headers


def wait_for_entry(store: Store, lookup: Lookup) -> CachedResponse | None:
    """Another worker is building this entry: poll briefly instead of piling on the database."""
    deadline = time.monotonic() + cache_settings()["WAIT_MS"] / 1000
    while time.monotonic() < deadline:
        time.sleep(0.015)
        entry = store.fetch(lookup.key)
        if entry is not None:
            return entry
    return None


class CachedResponseWSGI:
    """Wraps Django's WSGI application; see the module docstring."""

    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET":
            return self.application(environ, start_response)
        prepared = prepare(
            path=environ.get("PATH_INFO", ""),
            query_string=environ.get("QUERY_STRING", ""),
            host=wsgi_host(environ),
            authorization=environ.get("HTTP_AUTHORIZATION", ""),
            accept=environ.get("HTTP_ACCEPT", ""),
        )
        if prepared is None:
            return self.application(environ, start_response)
        store = get_store()
        lookup = store.lookup(prepared.gen_keys, prepared.base, prepared.policy.resource)
        if lookup is not None:
            entry, state = lookup.entry, lookup.state
            if state == WAIT:
                entry, state = wait_for_entry(store, lookup), HIT
            if entry is not None and state in (HIT, STALE):
                status = _REASONS.get(entry.status) or f"{entry.status} Cached"
                start_response(status, entry_headers(entry, state))
                return [entry.body]
        environ[ENVIRON_KEY] = (prepared, lookup)
        return self.application(environ, start_response)
