"""Index verification shared by ``manage.py create_indexes`` (and usable from monitoring).

Compares the indexes and unique constraints declared on the project's models
with what the database has (by name, through Django's introspection, which
django-mongodb-backend implements with ``index_information()``), creates the
missing ones, and explains each list endpoint's default query to flag table
or collection scans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connections, models

PROJECT_APPS = ("organizations", "clinics", "providers", "assignments", "perfmon")


@dataclass
class IndexReport:
    model: str
    table: str
    missing: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def project_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


def _declared(model: type[models.Model]) -> dict[str, models.Index | models.UniqueConstraint]:
    declared: dict[str, Any] = {index.name: index for index in model._meta.indexes}
    declared.update(
        {c.name: c for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)}
    )
    return declared


def inspect_indexes(using: str = "default") -> list[IndexReport]:
    """What each project model declares versus what the database has."""
    connection = connections[using]
    reports = []
    with connection.cursor() as cursor:
        for model in project_models():
            table = model._meta.db_table
            existing = connection.introspection.get_constraints(cursor, table)
            declared = _declared(model)
            report = IndexReport(model=model._meta.label, table=table)
            for name in declared:
                (report.present if name in existing else report.missing).append(name)
            # Anything else that is neither the primary key, a single-column unique or
            # foreign-key index Django makes for fields, nor declared: someone added it by hand.
            field_columns = {
                f.column
                for f in model._meta.local_fields
                if f.db_index or f.unique or f.primary_key
            }
            for name, info in existing.items():
                columns = info.get("columns") or []
                automatic = info.get("primary_key") or info.get("foreign_key") or info.get("check")
                if name in declared or automatic or name == "_id_":
                    continue
                if len(columns) == 1 and columns[0] in field_columns:
                    continue
                report.unexpected.append(name)
            reports.append(report)
    return reports


def create_missing_indexes(
    reports: Iterable[IndexReport],
    using: str = "default",
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """Create every missing declared index; ``CONCURRENTLY`` on PostgreSQL, so live tables stay writable."""
    connection = connections[using]
    created = []
    by_label = {m._meta.label: m for m in project_models()}
    for report in reports:
        model = by_label[report.model]
        declared = _declared(model)
        for name in report.missing:
            item = declared[name]
            with connection.schema_editor(atomic=False) as editor:
                if isinstance(item, models.Index):
                    if connection.vendor == "postgresql":
                        editor.add_index(model, item, concurrently=True)
                    else:
                        editor.add_index(model, item)
                else:
                    editor.add_constraint(model, item)
            created.append(f"{report.table}.{name}")
            if progress:
                progress(f"{report.table}.{name}")
    return created


@dataclass
class ExplainResult:
    endpoint: str
    plan: str
    scan: bool


def list_queries(sample_organization_id: str) -> list[tuple[str, models.QuerySet]]:
    """Each list endpoint's default query (first page, member scope), as the views build it."""
    from assignments.selectors import (
        assignment_list,
        clinic_active_assignments,
        provider_active_assignments,
    )
    from clinics.selectors import clinic_list
    from enterprise.tenancy import Role, Scope
    from organizations.selectors import organization_list
    from providers.selectors import provider_list

    scope = Scope(
        role=Role.MEMBER, organization_id=sample_organization_id, subject="create_indexes"
    )
    page = slice(0, 21)
    newest = ("-created_at", "-id")
    sample = sample_organization_id
    return [
        ("GET /organizations", organization_list(scope=scope).order_by(*newest)[page]),
        ("GET /clinics", clinic_list(scope=scope).order_by(*newest)[page]),
        (
            "GET /clinics?status=active",
            clinic_list(scope=scope).filter(status="active").order_by(*newest)[page],
        ),
        ("GET /providers", provider_list(scope=scope).order_by(*newest)[page]),
        ("GET /assignments", assignment_list(scope=scope).order_by(*newest)[page]),
        (
            "GET /assignments/provider/{id}/clinics",
            provider_active_assignments(scope=scope, provider_id=sample)[page],
        ),
        (
            "GET /assignments/clinic/{id}/staff",
            clinic_active_assignments(scope=scope, clinic_id=sample)[page],
        ),
    ]


def plan_has_scan(vendor: str, plan: str) -> bool:
    """A full table or collection scan in the plan text."""
    if vendor == "postgresql":
        return "Seq Scan" in plan
    if vendor == "sqlite":
        return any(
            line.strip().startswith("SCAN") and "USING" not in line and "INDEX" not in line
            for line in plan.splitlines()
        )
    return "COLLSCAN" in plan


def explain_list_queries(
    sample_organization_id: str, using: str = "default"
) -> list[ExplainResult]:
    """Explain each default list query; ``scan`` marks a full table/collection scan.

    On PostgreSQL sequential scans are disabled for the explain: on a small
    table the planner prefers one even when an index would serve, so what is
    checked is whether an index *can* serve the query.
    """
    connection = connections[using]
    results = []
    for endpoint, queryset in list_queries(sample_organization_id):
        queryset = queryset.using(using)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SET LOCAL enable_seqscan = off"
                ) if connection.in_atomic_block else cursor.execute("SET enable_seqscan = off")
                plan = queryset.explain()
                cursor.execute("RESET enable_seqscan")
        else:
            plan = queryset.explain()
        scan = plan_has_scan(connection.vendor, plan)
        results.append(ExplainResult(endpoint=endpoint, plan=plan, scan=scan))
    return results
