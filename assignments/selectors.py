"""Reads of assignments, narrowed to the caller's scope before any filter."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from assignments.models import ProviderClinicAssignment
from clinics.models import Clinic
from enterprise.tenancy import Scope
from providers.models import Provider


def assignment_list(*, scope: Scope) -> QuerySet[ProviderClinicAssignment]:
    """Every assignment the scope may see, newest first."""
    return ProviderClinicAssignment.objects.for_scope(scope).newest_first()


def provider_active_assignments(
    *, scope: Scope, provider_id: str
) -> QuerySet[ProviderClinicAssignment]:
    """The provider's active assignments (index ``provider, is_active, assigned_at``), latest first."""
    return (
        ProviderClinicAssignment.objects.for_scope(scope)
        .filter(provider_id=provider_id, is_active=True)
        .order_by("-assigned_at", "-id")
    )


def clinic_active_assignments(
    *, scope: Scope, clinic_id: str
) -> QuerySet[ProviderClinicAssignment]:
    """The clinic's active assignments (index ``clinic, is_active, assigned_at``), latest first."""
    return (
        ProviderClinicAssignment.objects.for_scope(scope)
        .filter(clinic_id=clinic_id, is_active=True)
        .order_by("-assigned_at", "-id")
    )


def ensure_provider_visible(*, scope: Scope, provider_id: str) -> None:
    """``Http404`` unless the provider exists in the scope (only asked when a page came back empty)."""
    if not Provider.objects.for_scope(scope).filter(pk=provider_id).exists():
        raise Http404


def ensure_clinic_visible(*, scope: Scope, clinic_id: str) -> None:
    """``Http404`` unless the clinic exists in the scope (only asked when a page came back empty)."""
    if not Clinic.objects.for_scope(scope).filter(pk=clinic_id).exists():
        raise Http404
