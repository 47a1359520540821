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

    One round trip on every backend whatever the size of the organization.
    On SQL databases: the organization row with every count as a correlated
    subquery (clinics by status and active providers on their
    ``organization, status`` indexes, active assignments per role on the
    organization's assignment index; the roles are a closed set), compiled
    once per process (``_summary_statement``). On MongoDB, where the backend
    would compile those subqueries to ``$lookup`` stages placed before the
    ``$match`` on the organization (a scan of every organization), one
    aggregate of ``$unionWith`` branches that each start with an indexed
    ``$match`` (``_summary_pipeline``). Raises ``Http404`` for an organization
    outside the scope (without a query when the scope names another
    organization) or that does not exist.
    """
    if not scope.allows_organization(organization_id):
        raise Http404  # what Organization.objects.for_scope(scope) would find: nothing
    if connection.vendor == "mongodb":
        counts = _summary_counts_mongodb(organization_id)
    else:
        counts = _summary_counts_sql(organization_id)
    if counts is None:
        raise Http404
    clinics_by_status, active_providers, by_role = counts
    # Roles nobody holds are left out (a grouped count has no row for them).
    by_role = {role: n for role in AssignmentRole.values if (n := by_role.get(role, 0))}
    return {
        "organization_id": organization_id,
        "clinics_by_status": clinics_by_status,
        "clinics_total": sum(clinics_by_status.values()),
        "active_providers": active_providers,
        "active_assignments_by_role": by_role,
        "active_assignments_total": sum(by_role.values()),
    }


#: (clinics by status, active providers, active assignments by role), or None: no such organization.
SummaryCounts = tuple[dict[str, int], int, dict[str, int]] | None


def _summary_counts_sql(organization_id: str) -> SummaryCounts:
    sql, params, columns = _summary_statement(connection.alias)
    bound = [organization_id if p == _ORGANIZATION_PLACEHOLDER else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, bound)
        found = cursor.fetchone()
    if found is None:
        return None
    row = dict(zip(columns, found, strict=True))  # "id" only proves the organization exists
    return (
        {status: row[f"clinics_{status}"] for status in ClinicStatus.values},
        row["active_providers"],
        {role: row[f"role_{role}"] for role in AssignmentRole.values},
    )


def _summary_pipeline(organization_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The MongoDB summary: (collection, pipeline) of one aggregate.

    It starts on the organization's own document and appends one grouped
    branch per counted collection with ``$unionWith``; every branch starts
    with a ``$match`` on the leading fields of one of the collection's
    indexes. Each output document is ``{"k": kind, "v": value, "n": count}``,
    the organization's own one ``{"k": "organization"}``.
    """
    from bson import ObjectId

    oid = ObjectId(organization_id)

    def column(model: type, field: str) -> str:
        return model._meta.get_field(field).column

    def branch(model: type, kind: str, match: dict[str, Any], by: str | None) -> dict[str, Any]:
        return {
            "$unionWith": {
                "coll": model._meta.db_table,
                "pipeline": [
                    {"$match": {column(model, "organization"): oid, **match}},
                    {"$group": {"_id": f"${column(model, by)}" if by else None, "n": {"$sum": 1}}},
                    {"$project": {"_id": 0, "k": {"$literal": kind}, "v": "$_id", "n": 1}},
                ],
            }
        }

    return Organization._meta.db_table, [
        {"$match": {"_id": oid}},
        {"$project": {"_id": 0, "k": {"$literal": "organization"}}},
        branch(Clinic, "clinics", {}, "status"),
        branch(
            Provider, "providers", {column(Provider, "status"): ProviderStatus.ACTIVE.value}, None
        ),
        branch(
            ProviderClinicAssignment,
            "roles",
            {column(ProviderClinicAssignment, "is_active"): True},
            "role",
        ),
    ]


def _summary_counts_mongodb(organization_id: str) -> SummaryCounts:
    from django_mongodb_backend.query import wrap_database_errors  # pymongo errors -> Django's

    collection, pipeline = _summary_pipeline(organization_id)

    @wrap_database_errors
    def run() -> list[dict[str, Any]]:
        cursor = connection.get_collection(collection).aggregate(
            pipeline, session=connection.session
        )
        return list(cursor)

    rows = run()
    if not any(row["k"] == "organization" for row in rows):
        return None
    clinics_by_status = dict.fromkeys(ClinicStatus.values, 0)
    active_providers, by_role = 0, {}
    for row in rows:
        if row["k"] == "clinics":
            clinics_by_status[row["v"]] = row["n"]
        elif row["k"] == "providers":
            active_providers = row["n"]
        elif row["k"] == "roles":
            by_role[row["v"]] = row["n"]
    return clinics_by_status, active_providers, by_role
