"""Cached getters for clinic representations (embedded in the assignment views)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clinics.models import Clinic
from clinics.serializers import ClinicSerializer
from enterprise.cache.conf import ttl
from enterprise.cache.objects import cached_objects
from enterprise.tenancy import Scope


def get_clinics_cached(
    *, scope: Scope, ids: Iterable[str], dependencies: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """``{id: representation}`` for the clinics among ``ids`` the scope may see (one query for all misses)."""
    return cached_objects(
        model=Clinic,
        serializer_class=ClinicSerializer,
        scope=scope,
        resource="clinics",
        ids=ids,
        ttl_seconds=ttl("clinic_detail"),
        dependencies=dependencies,
    )


def get_clinic_cached(*, scope: Scope, clinic_id: str) -> dict[str, Any] | None:
    return get_clinics_cached(scope=scope, ids=[clinic_id]).get(clinic_id)
