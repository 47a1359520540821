"""Cache key builders. A key cannot be built without a tenant scope.

Layout (prefix ``dos`` by default):

* ``dos:g:epoch``: global generation, bumped by ``clear_cache --all``;
* ``dos:g:<scope>:<resource>``: generation of one resource within one scope,
  ``<scope>`` being ``org:<id>`` or ``platform`` (bumped by writes), or ``all``
  (bumped only by ``clear_cache --resource R``, reaching every tenant at once);
* ``dos:g:<scope>:<resource>:counts``: bumped only by the writes that can change
  what the scope's rows of a resource add up to (see ``counts_generation_key``);
* ``dos:r:<scope>:<digest>|<gen>.<gen>...``: a cached response; the digest
  covers method, host, path, normalised query and representation;
* ``dos:o:<scope>:<resource>:<id>|<gen>``: a cached object representation;
* ``dos:stats``: hit / miss / stale / set / invalidation counters per resource.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

from enterprise.cache.conf import cache_settings
from enterprise.tenancy import Scope

RESOURCES = ("organizations", "clinics", "providers", "assignments")
OBJECT_GENERATION_MARK = ":g:obj:"


class MissingScopeError(ValueError):
    """Raised when a cache key is requested without a tenant scope."""


def _prefix() -> str:
    return cache_settings()["KEY_PREFIX"]


def scope_token(scope: Scope | None) -> str:
    if scope is None:
        raise MissingScopeError(
            "cache keys need an explicit scope (use Scope.platform() for platform reads)"
        )
    return scope.cache_key


def epoch_key() -> str:
    return f"{_prefix()}:g:epoch"


def generation_key(scope_key: str, resource: str) -> str:
    if resource not in RESOURCES:
        raise ValueError(f"unknown cache resource {resource!r}")
    return f"{_prefix()}:g:{scope_key}:{resource}"


def object_generation_key(resource: str, object_id: str) -> str:
    """Generation of one object: bumped by writes to that object only."""
    if resource not in RESOURCES:
        raise ValueError(f"unknown cache resource {resource!r}")
    return f"{_prefix()}{OBJECT_GENERATION_MARK}{resource}:{object_id}"


def parent_object_id(field: str, value: str) -> str:
    """The object-generation id of "the children of one parent" (``provider_id=<id>``).

    Writes of a child bump it for each of the child's parents (the model's
    ``cache_object_ids``); a route that lists one parent's children (a
    ``CachePolicy`` with ``parent``) is keyed on it, so a write under one
    provider does not evict every other provider's list.
    """
    return f"{field}={value}"


def counts_generation_key(scope_key: str, resource: str) -> str:
    """Generation bumped by the writes that can change an aggregate over the scope's rows.

    Creates, deletes, bulk writes and updates of a model's ``COUNTED_FIELDS``
    (the fields aggregates filter or group on) bump it; an update of any other
    field (a rename, a new phone number) does not. Aggregates cached with a
    ``counts_only`` policy (the organization summary) depend on it instead of
    the scope's list generation.
    """
    return f"{generation_key(scope_key, resource)}:counts"


def bulk_generation_key(scope_key: str, resource: str) -> str:
    """Generation bumped only by writes that do not name their objects (QuerySet bulk operations)."""
    return generation_key(f"bulk:{scope_key}", resource)


def generation_keys(
    scope: Scope | None,
    resources: tuple[str, ...],
    *,
    object_id: str | None = None,
    embeds: tuple[str, ...] = (),
    counts_only: bool = False,
) -> list[str]:
    """Every generation a response of ``resources`` read in ``scope`` depends on.

    The epoch, then per resource its every-tenant key and the scope's own key.
    A single-object read (``object_id``) depends instead on that object's own
    generation and the scope's bulk-write generation, so a write to one clinic
    does not evict the cached details of its siblings; so does a read of one
    parent's children, with the parent's ``parent_object_id`` as ``object_id``.
    Embedded resources (objects rendered inside the body) add only their
    every-tenant and bulk generations; the embedded objects' own generations
    are recorded in the entry and checked on every hit. A ``counts_only`` read (an aggregate of
    counts) depends on the scope's counts generations instead of its list
    generations.
    """
    token = scope_token(scope)
    keys = [epoch_key()]
    scoped = counts_generation_key if counts_only else generation_key
    for resource in resources:
        if object_id is None:
            keys += [generation_key("all", resource), scoped(token, resource)]
        else:
            keys += [
                generation_key("all", resource),
                bulk_generation_key(token, resource),
                object_generation_key(resource, object_id),
            ]
    for resource in embeds:
        keys += [generation_key("all", resource), bulk_generation_key(token, resource)]
    return keys


def normalised_query(query_string: str) -> str:
    """Query parameters sorted, blank values kept: ``b=2&a=1`` and ``a=1&b=2`` share an entry."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return urlencode(sorted(pairs))


def response_key_base(
    scope: Scope | None, *, host: str, path: str, query_string: str, representation: str
) -> str:
    """The generation-free part of a response key (generations are appended at lookup)."""
    token = scope_token(scope)
    digest = (
        _memoised_digest if len(host) + len(path) + len(query_string) <= 512 else _request_digest
    )(host, path, query_string, representation)
    return f"{_prefix()}:r:{token}:{digest}"


def _request_digest(host: str, path: str, query_string: str, representation: str) -> str:
    material = "\n".join((host, path.rstrip("/"), normalised_query(query_string), representation))
    return hashlib.blake2b(material.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


#: The hit path of a popular URL normalises its query once per process (short URLs only,
#: so the memo stays a few MB whatever clients send).
_memoised_digest = lru_cache(maxsize=8192)(_request_digest)


def shadow_key(base: str) -> str:
    """The stale shadow copy of a response: generation-free, served only when the database is not."""
    return f"{base}|shadow"


def object_key_base(scope: Scope | None, resource: str, object_id: str) -> str:
    return f"{_prefix()}:o:{scope_token(scope)}:{resource}:{object_id}"


def stats_key() -> str:
    return f"{_prefix()}:stats"


def with_generations(base: str, generations: list[str]) -> str:
    return f"{base}|{'.'.join(generations)}"
