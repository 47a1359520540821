"""Response caching for the API's GET endpoints: the store step, and the lookup when no WSGI layer ran.

Under gunicorn, ``enterprise.cache.wsgi.CachedResponseWSGI`` answers hits
before Django and hands misses down with their lookup; this middleware then
stores the rendered response. Under Django's test client or another server
that calls the bare Django application, the middleware does the lookup
itself and answers hits the same way (same ``prepare()``, same
``render_entry()``).

On a miss it sets the ETag (weak, from the generation-bearing key, for lists
and aggregates; strong, from the body, for details), compresses bodies of
1 KB or more once for storage and hands the compressed bytes to
``HttpEfficiencyMiddleware`` so the client's copy is not compressed twice.
A list revalidation whose ``If-None-Match`` matches the key's ETag is a 304
before the view runs: no database work.

Correctness rests on the order: generations are read *before* the view runs,
and the entry is stored under those generations, so a write that lands while
the view runs makes the new entry unreachable rather than stale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from enterprise.cache.conf import cache_settings, ttl
from enterprise.cache.entries import CachedResponse, now_ms
from enterprise.cache.gate import PER_REQUEST_HEADERS, Prepared, prepare, wsgi_host
from enterprise.cache.keys import shadow_key
from enterprise.cache.refresh import generations_etag, refreshed_entry
from enterprise.cache.stores import HIT, MISS, REBUILD, STALE, WAIT, Lookup, get_store
from enterprise.cache.wsgi import ENVIRON_KEY, render_entry, wait_for_entry
from enterprise.http import (
    TENANT_CACHE_CONTROL,
    etag_matches,
    gzip_for_storage,
    request_id,
    strong_etag,
)
from enterprise.resilience.breakers import breaker
from perfmon.prometheus import CACHE_EVENTS
from perfmon.wsgi import RESOURCE as PERFMON_RESOURCE
from perfmon.wsgi import ROUTE as PERFMON_ROUTE

logger = logging.getLogger("enterprise.cache")

# Added per response by render_entry / HttpEfficiencyMiddleware, never stored.
_NOT_STORED = PER_REQUEST_HEADERS | {"content-type", "content-encoding", "vary", "cache-control"}


def _final_response(status: int, headers: list[tuple[str, str]], body: bytes) -> HttpResponse:
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name] = value
    response.final = True  # HttpEfficiencyMiddleware leaves it as it is
    return response


def _entry_response(request: HttpRequest, entry: CachedResponse, state: str) -> HttpResponse:
    """A stored entry as this request's response (conditional and encoding headers honoured)."""
    return _final_response(
        *render_entry(
            entry,
            state,
            if_none_match=request.META.get("HTTP_IF_NONE_MATCH", ""),
            if_modified_since=request.META.get("HTTP_IF_MODIFIED_SINCE", ""),
            accept_encoding=request.META.get("HTTP_ACCEPT_ENCODING", ""),
            request_id_value=request_id(request.META.get("HTTP_X_REQUEST_ID", "")),
        )
    )


class ResponseCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET":
            return self.get_response(request)
        handed_down = request.environ.get(ENVIRON_KEY)
        if handed_down is not None:
            prepared, lookup = handed_down
        else:
            prepared = prepare(
                path=request.path_info,
                query_string=request.META.get("QUERY_STRING", ""),
                host=wsgi_host(request.META),
                authorization=request.META.get("HTTP_AUTHORIZATION", ""),
                accept=request.META.get("HTTP_ACCEPT", ""),
            )
            if prepared is None:
                return self.get_response(request)
            request.environ[PERFMON_ROUTE] = prepared.route
            request.environ[PERFMON_RESOURCE] = prepared.policy.resource
            lookup = self._lookup(request, prepared)
            if isinstance(lookup, HttpResponse):
                return lookup
        request._verified_token_user = prepared.user  # DRF need not verify the token again

        if lookup is not None and lookup.state == MISS and lookup.outdated is not None:
            refreshed = self._refresh(prepared, lookup)
            if refreshed is not None:
                return _entry_response(request, refreshed, MISS)

        if lookup is not None and lookup.watched:
            # A membership-keyed list: what the view renders is current as of these
            # generations, read before it runs; a later write outdates the entry.
            request.cache_dependencies = dict(lookup.watched)

        # Without embedded objects the key's generations (and the watched ones, which the
        # view's entry records) decide the body, so a revalidation is answered here, before
        # the view. With them, the recorded object generations are part of the validator
        # and only a stored entry knows them.
        if (
            lookup is not None
            and prepared.policy.etag == "generations"
            and not prepared.policy.embeds
        ):
            etag = generations_etag(lookup.key, lookup.watched)
            if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
                get_store().release(lookup.key)
                return _final_response(
                    304,
                    [
                        ("ETag", etag),
                        ("Cache-Control", TENANT_CACHE_CONTROL),
                        ("Vary", "Accept-Encoding, Authorization"),
                        ("X-Cache", "MISS"),
                    ],
                    b"",
                )

        response = self.get_response(request)
        if getattr(response, "database_unavailable", False):
            stale = self._stale_copy(request, prepared)
            if stale is not None:
                if lookup is not None and lookup.state in (MISS, REBUILD):
                    get_store().release(lookup.key)
                return stale
        response["X-Cache"] = "MISS"
        if response.status_code == 200 and not response.streaming:
            body = response.content
            deps = getattr(request, "cache_dependencies", {})
            if prepared.policy.etag == "generations" and lookup is not None:
                response["ETag"] = generations_etag(lookup.key, deps)
            else:
                response["ETag"] = strong_etag(body)
            compressed = gzip_for_storage(body)
            response.gzipped_body = compressed
            storable = lookup is not None and lookup.state in (MISS, REBUILD, WAIT)
            if storable and "unavailable" not in deps:
                self._store(prepared, lookup, response, compressed, deps)
        elif lookup is not None and lookup.state in (MISS, REBUILD):
            get_store().release(lookup.key)
        return response

    @staticmethod
    def _lookup(request: HttpRequest, prepared: Prepared) -> Lookup | HttpResponse | None:
        store = get_store()
        lookup = store.lookup(
            prepared.gen_keys, prepared.base, prepared.policy.resource, prepared.watch
        )
        if lookup is None:
            return None
        entry, state = lookup.entry, lookup.state
        if state == WAIT:
            entry, state = wait_for_entry(store, lookup), HIT
        if entry is None or state not in (HIT, STALE):
            return lookup
        return _entry_response(request, entry, state)

    @staticmethod
    def _refresh(prepared: Prepared, lookup: Lookup) -> CachedResponse | None:
        """``lookup.outdated`` refreshed with its embedded objects' current state, and stored;
        ``None`` (the view runs) when it cannot be (``enterprise.cache.refresh``).

        It runs outside ``DatabaseGuardMiddleware`` and may query the database (objects
        not cached), so it asks the database breaker first: while that is open the view's
        guard answers, with the stale copy or a 503."""
        guard = breaker("database")
        if not guard.allow():
            return None
        try:
            entry = refreshed_entry(prepared, lookup)
        except Exception as exc:  # the database, or an entry it cannot read: the view answers
            # One line, no traceback: during a database outage every such page gets here, and
            # the view's own failure is what gets reported.
            logger.warning(
                "refreshing %s failed (%s: %s); running the view",
                lookup.key,
                type(exc).__name__,
                str(exc)[:200],
            )
            return None
        finally:
            guard.release()  # the view, if it runs, reports to the breaker
        if entry is None:
            return None
        CACHE_EVENTS.labels(prepared.policy.resource, "refresh").inc()
        if "unavailable" not in entry.deps:
            remaining = max(1, -(-(entry.fresh_until_ms - now_ms()) // 1000))
            _save(prepared, lookup, entry, remaining)
        else:
            get_store().release(lookup.key)
        return entry

    @staticmethod
    def _stale_copy(request: HttpRequest, prepared: Prepared) -> HttpResponse | None:
        """The last response stored for this URL and caller, however old (database unavailable)."""
        entry = get_store().fetch(shadow_key(prepared.base))
        if entry is None:
            return None
        return _entry_response(request, entry, STALE)

    @staticmethod
    def _store(
        prepared: Prepared,
        lookup: Lookup,
        response: HttpResponse,
        compressed: bytes | None,
        deps: dict[str, str],
    ) -> None:
        seconds = ttl(prepared.policy.ttl)
        created = now_ms()
        entry = CachedResponse(
            status=response.status_code,
            content_type=response["Content-Type"],
            body=compressed if compressed is not None else response.content,
            fresh_until_ms=created + seconds * 1000,
            created_ms=created,
            headers={
                name: value for name, value in response.items() if name.lower() not in _NOT_STORED
            },
            gzipped=compressed is not None,
            deps=deps,
        )
        _save(prepared, lookup, entry, seconds)


def _save(prepared: Prepared, lookup: Lookup, entry: CachedResponse, seconds: int) -> None:
    """Store ``entry`` under the lookup's key (releasing its lock) and as the URL's shadow copy."""
    shadow_seconds = cache_settings()["SHADOW_TTL"]
    get_store().save(
        lookup.key,
        entry,
        seconds,
        prepared.policy.resource,
        shadow=(shadow_key(prepared.base), shadow_seconds) if shadow_seconds else None,
    )
