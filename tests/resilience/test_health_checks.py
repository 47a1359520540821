"""Persistent PostgreSQL connections are health-checked only after they sat idle."""

from __future__ import annotations

import pytest
from django.db import connection

from enterprise.db.postgresql import base
from tests.factories import OrganizationFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL lane"),
]


@pytest.fixture
def checks(monkeypatch) -> list[bool]:
    """Every ``SELECT 1`` health check the connection makes (they bypass query capture)."""
    made: list[bool] = []
    real = connection.is_usable

    def counted() -> bool:
        made.append(True)
        return real()

    monkeypatch.setattr(connection, "is_usable", counted)
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    connection.health_check_enabled = True
    return made


def next_request() -> None:
    """What Django does at a request's start (the test client leaves it out): not yet checked."""
    connection.health_check_done = False


def test_a_connection_used_a_moment_ago_is_not_checked_again(api, checks):
    org = OrganizationFactory()
    client = api("member", org.pk)
    next_request()
    client.get(f"/api/v1/organizations/{org.pk}")  # checked or not: it has just been used
    checks.clear()
    next_request()
    assert client.get(f"/api/v1/clinics?organizationId={org.pk}").status_code == 200
    assert checks == []


def test_an_idle_connection_is_checked_before_its_first_query(api, checks, monkeypatch):
    org = OrganizationFactory()
    client = api("member", org.pk)
    next_request()
    client.get(f"/api/v1/organizations/{org.pk}")
    checks.clear()
    next_request()
    monkeypatch.setattr(
        connection, "_used_at", connection._used_at - base.HEALTH_CHECK_IDLE_SECONDS
    )
    assert client.get(f"/api/v1/clinics?organizationId={org.pk}").status_code == 200
    assert checks == [True]
