"""Deciding whether a GET may be answered from the cache, shared by the WSGI layer and the middleware.

``prepare()`` needs only the raw request line and headers: it resolves the
route to its ``CachePolicy`` (memoised per path), verifies the bearer token
(memoised per token until it expires), and builds the scope-bound key base and
generation keys. It returns ``None`` whenever the normal stack must decide
(no policy, no or bad token, browsable API, caching disabled).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

from django.conf import settings
from django.urls import Resolver404, resolve

from enterprise.api.authentication import TokenUser, verify_bearer_header
from enterprise.cache.conf import cache_settings
from enterprise.cache.keys import (
    generation_key,
    generation_keys,
    parent_object_id,
    response_key_base,
    scope_token,
)
from enterprise.cache.policy import CachePolicy, policy_for_view
from perfmon.routes import route_template

API_PREFIX = "/api/v1/"
# Response headers that belong to one request, never to a cached entry.
PER_REQUEST_HEADERS = frozenset(
    {"set-cookie", "x-request-id", "x-cache", "age", "date", "content-length"}
)


@dataclass(frozen=True, slots=True)
class Prepared:
    policy: CachePolicy
    user: TokenUser
    base: str
    gen_keys: list[str]
    #: The matched route's template (``/api/v1/clinics/{id}``), for perfmon's metrics.
    route: str
    #: Generations the lookup reads without keying on them (a membership-keyed list's
    #: list generations, ``CachePolicy.row_objects``): an entry built by the view records
    #: them as its dependencies.
    watch: tuple[str, ...] = ()


@lru_cache(maxsize=4096)
def _route_for_path(path: str) -> tuple[CachePolicy, str | None, str] | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    policy = policy_for_view(match.func)
    if policy is None:
        return None
    object_id = None
    if policy.per_object and match.kwargs.get("id"):
        object_id = match.kwargs["id"].lower()
    elif policy.parent and match.kwargs.get(policy.parent):
        object_id = parent_object_id(policy.parent, match.kwargs[policy.parent].lower())
    return policy, object_id, route_template(match)


def prepare(
    *, path: str, query_string: str, host: str, authorization: str, accept: str
) -> Prepared | None:
    if not path.startswith(API_PREFIX) or not cache_settings()["ENABLED"]:
        return None
    route = _route_for_path(path)
    if route is None:
        return None
    policy, object_id, template = route
    if settings.DEBUG and "text/html" in accept:
        return None  # the browsable API is never cached
    user = verify_bearer_header(authorization)
    if user is None:
        return None
    base = response_key_base(
        user.scope, host=host, path=path, query_string=query_string, representation="json"
    )
    embeds, counts_only, watch = policy.embeds, policy.counts_only, ()
    if membership_keyed(policy, query_string):
        # Keyed on membership (the counts generations) and on the rows' bulk generations
        # (a bulk update names no object, so no row's own generation records it); the
        # list generations are watched instead.
        embeds, counts_only = (*policy.embeds, *policy.depends_on), True
        token = scope_token(user.scope)
        watch = tuple(generation_key(token, resource) for resource in policy.depends_on)
    gen_keys = generation_keys(
        user.scope, policy.depends_on, object_id=object_id, embeds=embeds, counts_only=counts_only
    )
    return Prepared(policy, user, base, gen_keys, template, watch)


@lru_cache(maxsize=4096)
def membership_keyed(policy: CachePolicy, query_string: str) -> bool:
    """``policy.membership_only`` for a raw query string, memoised per process (the hit path
    and the pagination's count cache ask it of the same lists)."""
    return policy.membership_only(parse_qsl(query_string, keep_blank_values=True))


def wsgi_host(environ: dict) -> str:
    """The host as the key sees it (Django validates it against ALLOWED_HOSTS on the miss path)."""
    return (
        environ.get("HTTP_HOST")
        or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    )
