"""Cached getters for provider representations (embedded in the assignment views)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from enterprise.cache.conf import ttl
from enterprise.cache.objects import cached_objects
from enterprise.tenancy import Scope
from providers.models import Provider
from providers.serializers import ProviderSerializer


def get_providers_cached(
    *, scope: Scope, ids: Iterable[str], dependencies: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{id: representation}`` for the providers among ``ids`` the scope may see (one query for all misses)."""
    return cached_objects(
        model=Provider,
        serializer_class=ProviderSerializer,
        scope=scope,
        resource="providers",
        ids=ids,
        ttl_seconds=ttl("provider_detail"),
        dependencies=dependencies,
    )


def get_provider_cached(*, scope: Scope, provider_id: str) -> dict[str, Any] | None:
    return get_providers_cached(scope=scope, ids=[provider_id]).get(provider_id)
