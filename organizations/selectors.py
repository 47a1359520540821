"""Reads of organizations, always narrowed to the caller's scope first."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404

from assignments.models import ProviderClinicAssignment
from clinics.models import Clinic, ClinicStatus
from enterprise.tenancy import Scope
from organizations.models import Organization
from providers.models import Provider, ProviderStatus


def organization_list(*, scope: Scope) -> QuerySet[Organization]:
    """Every organization the scope may see (its own one for non-platform callers), newest first."""
    return Organization.objects.for_scope(scope).newest_first()


def organization_get(*, scope: Scope, organization_id: str) -> Organization:
    """One organization; ``Http404`` when it does not exist or belongs to another tenant."""
    try:
        return organization_list(scope=scope).get(pk=organization_id)
    except Organization.DoesNotExist:
        raise Http404 from None


def organization_summary(*, scope: Scope, organization_id: str) -> dict[str, Any]:
    """Clinic counts by status, active providers and active assignments by role.

    Raises ``Http404`` for an organization outside the scope. Each count is one
    grouped query on an indexed organization prefix.
    """
    organization = organization_get(scope=scope, organization_id=organization_id)
    clinics_by_status = dict.fromkeys(ClinicStatus.values, 0)
    for row in (
        Clinic.objects.filter(organization_id=organization.pk)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    ):
        clinics_by_status[row["status"]] = row["n"]
    active_providers = Provider.objects.filter(
        organization_id=organization.pk, status=ProviderStatus.ACTIVE
    ).count()
    by_role: dict[str, int] = {}
    for row in (
        ProviderClinicAssignment.objects.filter(organization_id=organization.pk, is_active=True)
        .order_by()
        .values("role")
        .annotate(n=Count("id"))
    ):
        by_role[row["role"]] = row["n"]
    return {
        "organization": organization,
        "clinics_by_status": clinics_by_status,
        "clinics_total": sum(clinics_by_status.values()),
        "active_providers": active_providers,
        "active_assignments_by_role": by_role,
        "active_assignments_total": sum(by_role.values()),
    }
