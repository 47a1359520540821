"""Time budgets reach the database: a statement over its budget is cancelled and answered 504."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import override_settings

from clinics.views import ClinicViewSet
from enterprise.resilience.budgets import classify

SEARCH_BUDGET = {"default": 30, "search": 1, "report": 120}


def _slow_list(seconds: float):
    def clinic_list(*, scope, **kwargs):
        from clinics.models import Clinic

        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_sleep(%s)", [seconds])
            else:  # a long SQLite statement: a recursive count to many millions
                cursor.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                    "WHERE i < 200000000) SELECT count(*) FROM n"
                )
        return Clinic.objects.for_scope(scope)

    return staticmethod(clinic_list)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor == 'mongodb'", reason="forces a slow SQL statement")
def test_a_search_past_its_budget_is_504_within_the_budget_and_leaves_nothing_running(
    api, tenant_a, monkeypatch
):
    monkeypatch.setattr(ClinicViewSet, "list_selector", _slow_list(10))
    member = api("member", tenant_a.id)
    with override_settings(RESILIENCE={**_resilience(), "BUDGETS": SEARCH_BUDGET}):
        started = time.monotonic()
        response = member.get("/api/v1/clinics?search=north")
        elapsed = time.monotonic() - started

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
    assert 0.9 < elapsed < 3.0, elapsed  # the 1 s budget plus a margin, not the 10 s statement
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%' "
                "AND state = 'active'"
            )
            assert cursor.fetchone()[0] == 0
    # the next request on the same connection runs under the default budget again
    monkeypatch.undo()
    assert member.get("/api/v1/clinics").status_code == 200


def _resilience():
    from django.conf import settings

    return settings.RESILIENCE


def test_endpoint_classes(rf):
    from organizations.views import OrganizationViewSet

    summary = OrganizationViewSet.as_view({"get": "summary"})
    listing = ClinicViewSet.as_view({"get": "list"})
    assert classify(rf.get("/x"), summary) == "report"
    assert classify(rf.get("/x?search=a"), listing) == "search"
    assert classify(rf.get("/x"), listing) == "default"
