"""Response caching for the API's GET endpoints, answered before the rest of the stack.

For a GET the middleware resolves the route to its viewset action and that
action's ``CachePolicy``, authenticates the bearer token (the same verifier
DRF uses; the result is handed on so DRF does not verify twice), and looks the
response up in one store round trip. A hit is written straight out: no
session, CSRF, DRF, database or rendering work. Anything it cannot decide
(no policy, no or bad token, browsable API) goes down the normal stack, which
answers as usual.

Correctness rests on the order: generations are read *before* the view runs,
and the entry is stored under those generations, so a write that lands while
the view runs makes the new entry unreachable rather than stale.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from enterprise.api.authentication import authenticate_request_header
from enterprise.cache.conf import cache_settings, ttl
from enterprise.cache.entries import CachedResponse, now_ms
from enterprise.cache.keys import generation_keys, response_key_base
from enterprise.cache.policy import policy_for_view
from enterprise.cache.stores import HIT, MISS, REBUILD, STALE, WAIT, Lookup, get_store

API_PREFIX = "/api/v1/"


def _hit_response(entry: CachedResponse, state: str) -> HttpResponse:
    response = HttpResponse(entry.body, status=entry.status, content_type=entry.content_type)
    for name, value in entry.headers.items():
        response[name] = value
    response["X-Cache"] = "STALE" if state == STALE else "HIT"
    if state == STALE:
        response["Age"] = str(entry.age_seconds)
    return response


class ResponseCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET" or not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        if not cache_settings()["ENABLED"]:
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        policy = policy_for_view(match.func)
        if policy is None:
            return self.get_response(request)
        if settings.DEBUG and "text/html" in request.META.get("HTTP_ACCEPT", ""):
            return self.get_response(request)  # the browsable API is never cached
        user = authenticate_request_header(request)
        if user is None:
            return self.get_response(request)

        store = get_store()
        scope = user.scope
        base = response_key_base(
            scope,
            host=request.get_host(),
            path=request.path_info,
            query_string=request.META.get("QUERY_STRING", ""),
            representation="json",
        )
        lookup = store.lookup(generation_keys(scope, policy.depends_on), base, policy.resource)
        if lookup is not None:
            if lookup.state in (HIT, STALE):
                return _hit_response(lookup.entry, lookup.state)
            if lookup.state == WAIT:
                entry = self._wait_for(store, lookup)
                if entry is not None:
                    store.count(policy.resource, "hit_after_wait")
                    return _hit_response(entry, HIT)

        response = self.get_response(request)
        response["X-Cache"] = "MISS"
        if (
            lookup is not None
            and lookup.state in (MISS, REBUILD, WAIT)
            and response.status_code == 200
        ):
            self._store(store, lookup, response, ttl(policy.ttl), policy.resource)
        return response

    @staticmethod
    def _wait_for(store, lookup: Lookup) -> CachedResponse | None:
        """Another worker is building this entry: poll briefly instead of piling on the database."""
        deadline = time.monotonic() + cache_settings()["WAIT_MS"] / 1000
        while time.monotonic() < deadline:
            time.sleep(0.015)
            entry = store.fetch(lookup.key)
            if entry is not None:
                return entry
        return None

    @staticmethod
    def _store(store, lookup: Lookup, response: HttpResponse, seconds: int, resource: str) -> None:
        if response.streaming:
            return
        created = now_ms()
        entry = CachedResponse(
            status=response.status_code,
            content_type=response["Content-Type"],
            body=response.content,
            fresh_until_ms=created + seconds * 1000,
            created_ms=created,
        )
        store.save(lookup.key, entry, seconds, resource)
