"""Cached getters for provider representations (used to embed providers in clinic-staff views)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from enterprise.cache.conf import ttl
from enterprise.cache.objects import cached_representations
from enterprise.tenancy import Scope
from providers.models import Provider
from providers.serializers import ProviderSerializer


def get_providers_cached(
    *, scope: Scope, ids: Iterable[str], dependencies: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{id: representation}`` for the providers among ``ids`` the scope may see (one query for all misses)."""

    def load(missing: list[str]) -> dict[str, dict[str, Any]]:
        rows = Provider.objects.for_scope(scope).filter(pk__in=missing).order_by()
        return {row.pk: ProviderSerializer(row).data for row in rows}

    return cached_representations(
        scope=scope,
        resource="providers",
        ids=ids,
        load=load,
        ttl_seconds=ttl("provider_detail"),
        dependencies=dependencies,
    )


def get_provider_cached(*, scope: Scope, provider_id: str) -> dict[str, Any] | None:
    return get_providers_cached(scope=scope, ids=[provider_id]).get(provider_id)
