"""Response caching for the API's GET endpoints: the store step, and the lookup when no WSGI layer ran.

Under gunicorn, ``enterprise.cache.wsgi.CachedResponseWSGI`` answers hits
before Django and hands misses down with their lookup; this middleware then
stores the rendered response. Under Django's test client or another server
that calls the bare Django application, the middleware does the lookup
itself and answers hits the same way (same ``prepare()``, same entries).

Correctness rests on the order: generations are read *before* the view runs,
and the entry is stored under those generations, so a write that lands while
the view runs makes the new entry unreachable rather than stale.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from enterprise.cache.conf import ttl
from enterprise.cache.entries import CachedResponse, now_ms
from enterprise.cache.gate import PER_REQUEST_HEADERS, Prepared, prepare, wsgi_host
from enterprise.cache.stores import HIT, MISS, REBUILD, STALE, WAIT, Lookup, get_store
from enterprise.cache.wsgi import ENVIRON_KEY, entry_headers, wait_for_entry


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
            lookup = self._lookup(prepared)
            if isinstance(lookup, HttpResponse):
                return lookup
        request._verified_token_user = prepared.user  # DRF need not verify the token again
        response = self.get_response(request)
        response["X-Cache"] = "MISS"
        if (
            lookup is not None
            and lookup.state in (MISS, REBUILD, WAIT)
            and response.status_code == 200
        ):
            self._store(prepared, lookup, response)
        return response

    @staticmethod
    def _lookup(prepared: Prepared) -> Lookup | HttpResponse | None:
        store = get_store()
        lookup = store.lookup(prepared.gen_keys, prepared.base, prepared.policy.resource)
        if lookup is None:
            return None
        entry, state = lookup.entry, lookup.state
        if state == WAIT:
            entry, state = wait_for_entry(store, lookup), HIT
        if entry is None or state not in (HIT, STALE):
            return lookup
        response = HttpResponse(entry.body, status=entry.status)
        for name, value in entry_headers(entry, state):
            response[name] = value
        return response

    @staticmethod
    def _store(prepared: Prepared, lookup: Lookup, response: HttpResponse) -> None:
        if response.streaming:
            return
        seconds = ttl(prepared.policy.ttl)
        created = now_ms()
        headers = {
            name: value
            for name, value in response.items()
            if name.lower() not in PER_REQUEST_HEADERS and name.lower() != "content-type"
        }
        entry = CachedResponse(
            status=response.status_code,
            content_type=response["Content-Type"],
            body=response.content,
            fresh_until_ms=created + seconds * 1000,
            created_ms=created,
            headers=headers,
        )
        get_store().save(lookup.key, entry, seconds, prepared.policy.resource)
