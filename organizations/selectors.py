"""Reads of organizations, always narrowed to the caller's scope first."""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from assignments.models import AssignmentRole, ProviderClinicAssignment
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


def _count_of(queryset: QuerySet) -> Coalesce:
    """A correlated ``COUNT(*)`` of ``queryset`` (already filtered on ``OuterRef("pk")``) as a scalar."""
    counted = queryset.order_by().values("organization_id").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


#: Stands for the organization id while the summary query is compiled (any valid id would do).
_ORGANIZATION_PLACEHOLDER = "f" * 24


@functools.cache
def _summary_statement(alias: str) -> tuple[str, tuple[Any, ...], tuple[str, ...]]:
    """The summary's SQL, compiled once per database: (sql, params with the placeholder, columns).

    Building this query (ten correlated subqueries) through the ORM costs
    about ten times what the database takes to run it; the statement is the
    same for every organization, so the ORM compiles it once and each request
    binds its organization id.
    """
    clinic_counts = {
        f"clinics_{status}": _count_of(
            Clinic.objects.filter(organization_id=OuterRef("pk"), status=status)
        )
        for status in ClinicStatus.values
    }
    role_counts = {
        f"role_{role}": _count_of(
            ProviderClinicAssignment.objects.filter(
                organization_id=OuterRef("pk"), is_active=True, role=role
            )
        )
        for role in AssignmentRole.values
    }
    providers = Provider.objects.filter(
        organization_id=OuterRef("pk"), status=ProviderStatus.ACTIVE
    )
    columns = ("id", *clinic_counts, *role_counts, "active_providers")
    queryset = (
        Organization.objects.using(alias)
        .filter(pk=_ORGANIZATION_PLACEHOLDER)
        .annotate(**clinic_counts, **role_counts, active_providers=_count_of(providers))
        .values(*columns)
        .order_by()
    )
    sql, params = queryset.query.sql_with_params()
    if list(params).count(_ORGANIZATION_PLACEHOLDER) != 1:
        raise RuntimeError("the summary statement must bind the organization exactly once")
    return sql, tuple(params), columns


def organization_summary(*, scope: Scope, organization_id: str) -> dict[str, Any]:
    """Clinic counts by status, active providers and active assignments by role.

    One round trip on SQL databases whatever the size of the organization:
    the organization row with every count as a correlated subquery (clinics
    by status and active providers on their ``organization, status`` indexes,
    active assignments per role on the organization's assignment index; the
    roles are a closed set), compiled once per process (``_summary_statement``).
    On MongoDB the backend would place those subqueries' ``$lookup`` stages
    before the ``$match`` on the organization (a scan of every organization),
    so there it is four indexed queries instead. Raises ``Http404`` for an
    organization outside the scope (without a query when the scope names
    another organization).
    """
    if connection.vendor == "mongodb":
        return _organization_summary_grouped(scope=scope, organization_id=organization_id)
    if not scope.allows_organization(organization_id):
        raise Http404  # what Organization.objects.for_scope(scope) would find: nothing
    sql, params, columns = _summary_statement(connection.alias)
    bound = [organization_id if p == _ORGANIZATION_PLACEHOLDER else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, bound)
        found = cursor.fetchone()
    if found is None:
        raise Http404
    row = dict(zip(columns, found, strict=True))  # "id" only proves the organization exists
    # Roles nobody holds are left out, as the grouped count on MongoDB leaves them out.
    by_role = {role: n for role in AssignmentRole.values if (n := row[f"role_{role}"])}
    clinics_by_status = {status: row[f"clinics_{status}"] for status in ClinicStatus.values}
    return {
        "organization_id": organization_id,
        "clinics_by_status": clinics_by_status,
        "clinics_total": sum(clinics_by_status.values()),
        "active_providers": row["active_providers"],
        "active_assignments_by_role": by_role,
        "active_assignments_total": sum(by_role.values()),
    }


def _organization_summary_grouped(*, scope: Scope, organization_id: str) -> dict[str, Any]:
    organization = organization_get(scope=scope, organization_id=organization_id)
    clinics_by_status = dict.fromkeys(ClinicStatus.values, 0)
    for item in (
        Clinic.objects.filter(organization_id=organization.pk)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    ):
        clinics_by_status[item["status"]] = item["n"]
    by_role = {
        item["role"]: item["n"]
        for item in ProviderClinicAssignment.objects.filter(
            organization_id=organization.pk, is_active=True
        )
        .order_by()
        .values("role")
        .annotate(n=Count("id"))
    }
    return {
        "organization_id": organization.pk,
        "clinics_by_status": clinics_by_status,
        "clinics_total": sum(clinics_by_status.values()),
        "active_providers": Provider.objects.filter(
            organization_id=organization.pk, status=ProviderStatus.ACTIVE
        ).count(),
        "active_assignments_by_role": by_role,
        "active_assignments_total": sum(by_role.values()),
    }
