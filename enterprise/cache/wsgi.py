"""The lean hit path: answer cached GETs at the WSGI boundary, before Django builds a request.

A hit needs the route's policy, the caller's scope and one store round trip;
it does not need an ``HttpRequest``, the middleware chain, DRF or the
database, so none of them run. The stored entry carries the headers the full
stack produced (security headers, ``ETag``, ``Last-Modified``), so a hit is
the response a miss returned, plus ``X-Cache``; ``If-None-Match`` /
``If-Modified-Since`` are answered with a bodiless 304 and the stored gzip body
is sent as is to clients that accept it. Everything else, and every miss, goes
to Django with the lookup attached to the environ so the response-cache
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
from enterprise.http import (
    TENANT_CACHE_CONTROL,
    accepts_gzip,
    is_not_modified,
    request_id,
)
from perfmon.wsgi import BYTES as PERFMON_BYTES
from perfmon.wsgi import CACHE as PERFMON_CACHE
from perfmon.wsgi import RESOURCE as PERFMON_RESOURCE
from perfmon.wsgi import ROUTE as PERFMON_ROUTE

ENVIRON_KEY = "enterprise.cache"
#: ``X-Cache`` of an entry served in a lookup state. A refreshed entry
#: (``enterprise.cache.refresh``) is served in state ``miss``, as a MISS: it was built for
#: this request, not found stored.
_X_CACHE = {HIT: "HIT", STALE: "STALE"}
STATUS_LINES = {200: "200 OK", 304: "304 Not Modified"}


def x_cache(state: str) -> str:
    """The ``X-Cache`` of an entry served in lookup state ``state``."""
    return _X_CACHE.get(state, "MISS")


def render_entry(
    entry: CachedResponse,
    state: str,
    *,
    if_none_match: str,
    if_modified_since: str,
    accept_encoding: str,
    request_id_value: str,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for a cached entry, honouring conditional and encoding headers."""
    headers = list(entry.headers.items())
    headers += [
        ("Cache-Control", TENANT_CACHE_CONTROL),
        ("Vary", "Accept-Encoding, Authorization"),
        ("X-Cache", x_cache(state)),
        ("X-Request-ID", request_id_value),
    ]
    if state == STALE:
        headers += [("Age", str(entry.age_seconds)), ("Warning", '110 - "Response is Stale"')]
    if is_not_modified(
        if_none_match=if_none_match,
        if_modified_since=if_modified_since,
        etag=entry.etag,
        last_modified=entry.headers.get("Last-Modified"),
    ):
        return 304, headers, b""
    body = entry.body
    if entry.gzipped:
        if accepts_gzip(accept_encoding):
            headers.append(("Content-Encoding", "gzip"))
        else:
            body = entry.identity_body()
    headers += [("Content-Type", entry.content_type), ("Content-Length", str(len(body)))]
    return entry.status, headers, body


def wait_for_entry(store: Store, lookup: Lookup) -> CachedResponse | None:
    """Another worker is building this entry: poll briefly instead of piling on the database.

    An entry the lookup rejected because its embedded objects changed
    (``lookup.outdated``) stays under the key until the new one replaces it:
    it is not the one awaited.
    """
    deadline = time.monotonic() + cache_settings()["WAIT_MS"] / 1000
    while time.monotonic() < deadline:
        time.sleep(0.015)
        entry = store.fetch(lookup.key)
        if entry is not None and entry != lookup.outdated:
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
        environ[PERFMON_ROUTE], environ[PERFMON_RESOURCE] = prepared.route, prepared.policy.resource
        store = get_store()
        lookup = store.lookup(
            prepared.gen_keys, prepared.base, prepared.policy.resource, prepared.watch
        )
        if lookup is not None:
            entry, state = lookup.entry, lookup.state
            if state == WAIT:
                entry, state = wait_for_entry(store, lookup), HIT
            if entry is not None and state in (HIT, STALE):
                status, headers, body = render_entry(
                    entry,
                    state,
                    if_none_match=environ.get("HTTP_IF_NONE_MATCH", ""),
                    if_modified_since=environ.get("HTTP_IF_MODIFIED_SINCE", ""),
                    accept_encoding=environ.get("HTTP_ACCEPT_ENCODING", ""),
                    request_id_value=request_id(environ.get("HTTP_X_REQUEST_ID", "")),
                )
                # perfmon (the layer outside) records these without scanning the headers.
                environ[PERFMON_CACHE], environ[PERFMON_BYTES] = x_cache(state), len(body)
                start_response(STATUS_LINES.get(status) or f"{status} Cached", headers)
                return [body]
        environ[ENVIRON_KEY] = (prepared, lookup)
        return self.application(environ, start_response)
