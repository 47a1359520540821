"""Slow-query log lines (no parameter values) and the N+1 guard."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection
from django.http import JsonResponse
from django.test import override_settings
from django.urls import path

from clinics.models import Clinic
from organizations.models import Organization
from perfmon import db
from tests.factories import ClinicFactory

SECRET = "jane.doe@example.com"


def _slow_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "perfmon.slow"]


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="pg_sleep is PostgreSQL's")
def test_a_query_over_the_threshold_logs_exactly_one_line_without_its_parameters(caplog, recorder):
    caplog.set_level(logging.WARNING, logger="perfmon.slow")
    with db.observing("/api/v1/test") as observation, connection.cursor() as cursor:
        cursor.execute("SELECT 1 WHERE %s <> ''", [SECRET])  # fast: not logged
        cursor.execute("SELECT pg_sleep(%s), %s", [0.15, SECRET])  # over the 100 ms default

    (line,) = _slow_lines(caplog)
    assert line["kind"] == "query"
    assert line["vendor"] == "postgresql"
    assert line["route"] == "/api/v1/test"
    assert line["statement"] == "SELECT pg_sleep(%s), %s"
    assert 150 <= line["duration_ms"] < 1000
    assert SECRET not in json.dumps(line)
    assert observation.round_trips == 2


@pytest.mark.django_db
@override_settings(PERFMON={"SLOW_QUERY_MS": 0.000001})
def test_every_backend_logs_statements_with_placeholders_only(caplog, recorder):
    caplog.set_level(logging.WARNING, logger="perfmon.slow")
    with db.observing("/api/v1/test"):
        list(Organization.objects.filter(name=SECRET))

    lines = _slow_lines(caplog)
    assert lines and all(SECRET not in json.dumps(line) for line in lines)


def clinics_with_their_organization_one_by_one(request):
    # The N+1 loop: one organization query per clinic.
    names = [Organization.objects.get(pk=c.organization_id).name for c in Clinic.objects.all()]
    return JsonResponse({"names": names})


def clinics_with_their_organization_batched(request):
    clinics = list(Clinic.objects.all())
    organizations = Organization.objects.in_bulk({c.organization_id for c in clinics})
    return JsonResponse({"names": [organizations[c.organization_id].name for c in clinics]})


urlpatterns = [
    path("n-plus-one", clinics_with_their_organization_one_by_one),
    path("batched", clinics_with_their_organization_batched),
]


@pytest.mark.django_db
@pytest.mark.urls("tests.perfmon.test_database")
def test_the_guard_catches_an_endpoint_with_an_n_plus_one_loop(client, caplog):
    ClinicFactory.create_batch(8)
    caplog.set_level(logging.WARNING, logger="perfmon.slow")

    with pytest.raises(db.NPlusOneError, match=r"GET /n-plus-one ran one query shape 8 times"):
        client.get("/n-plus-one")

    (report,) = [line for line in _slow_lines(caplog) if line["kind"] == "n_plus_one"]
    assert report["route"] == "/n-plus-one"
    assert list(report["repeated"].values()) == [8]


@pytest.mark.django_db
@pytest.mark.urls("tests.perfmon.test_database")
def test_the_guard_lets_the_batched_version_through(client):
    ClinicFactory.create_batch(8)
    response = client.get("/batched")
    assert response.status_code == 200
    assert len(response.json()["names"]) == 8


def test_in_lists_of_any_length_are_one_shape():
    one = db.sql_shape('SELECT * FROM "t" WHERE "id" IN (%s)')
    three = db.sql_shape('SELECT * FROM "t" WHERE "id" IN (%s, %s, %s)')
    assert one == three == 'SELECT * FROM "t" WHERE "id" IN (%s...)'
