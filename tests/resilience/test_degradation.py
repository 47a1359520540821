"""With the database breaker open: stale copies for cached GETs, 503 + Retry-After for the rest, writes refused."""

from __future__ import annotations

import pytest

from clinics.models import Clinic
from enterprise.resilience.breakers import breaker
from perfmon.models import OperatorAction

pytestmark = pytest.mark.django_db

BREAKERS = "/api/v1/performance/circuit-breakers"


@pytest.fixture(autouse=True)
def _close_the_database_breaker_after():
    yield
    breaker("database").reset()  # its state is shared (Redis): never leak an open breaker


def test_breakers_are_listed_for_platform_admins_only(api, tenant_a):
    assert api().get(BREAKERS).status_code == 401
    assert api("org_admin", tenant_a.id).get(BREAKERS).status_code == 403
    response = api("platform_admin").get(BREAKERS)
    assert response.status_code == 200
    states = {b["name"]: b for b in response.json()["breakers"]}
    assert set(states) == {"database", "redis"}
    assert states["database"]["state"] == "closed"
    assert states["database"]["config"]["probes"] == 3


def test_unknown_breakers_and_actions_are_404(api):
    admin = api("platform_admin")
    assert admin.post(f"{BREAKERS}/payments/reset").status_code == 404
    assert admin.post(f"{BREAKERS}/database/explode").status_code == 404
    assert OperatorAction.objects.count() == 0


def test_open_database_breaker_serves_stale_copies_refuses_the_rest_and_changes_nothing(
    api, tenant_a
):
    member, admin = api("member", tenant_a.id), api("org_admin", tenant_a.id)
    clinic = tenant_a.clinics[0]
    # given a cached list, made out of date by a write (its next GET is a miss)
    before = member.get("/api/v1/clinics")
    assert before["X-Cache"] == "MISS"
    assert (
        admin.patch(f"/api/v1/clinics/{clinic.pk}", {"name": "Renamed"}, format="json").status_code
        == 200
    )

    # when an operator forces the database breaker open
    forced = api("platform_admin").post(f"{BREAKERS}/database/force-open")
    assert forced.status_code == 200 and forced.json()["state"] == "open"

    # then the list is answered from its last copy, marked stale
    stale = member.get("/api/v1/clinics")
    assert stale.status_code == 200
    assert stale.content == before.content
    assert stale["X-Cache"] == "STALE"
    assert stale["Warning"] == '110 - "Response is Stale"'
    assert int(stale["Age"]) >= 0
    # a GET never cached is a 503 that says when to retry
    never_cached = member.get(f"/api/v1/providers/{tenant_a.providers[1].pk}")
    assert never_cached.status_code == 503
    assert never_cached.json()["error"]["code"] == "database_unavailable"
    assert int(never_cached["Retry-After"]) >= 1
    # with its length, though made before CommonMiddleware: gunicorn would send it chunked
    assert int(never_cached["Content-Length"]) == len(never_cached.content)
    # writes are refused before they start
    refused = admin.patch(f"/api/v1/clinics/{clinic.pk}", {"name": "During outage"}, format="json")
    assert refused.status_code == 503
    assert Clinic.objects.get(pk=clinic.pk).name == "Renamed"
    # health reports the breaker without failing readiness (the database itself answers)
    health = api().get("/api/v1/performance/health").json()
    assert health["status"] == "degraded" and health["checks"]["breakers"]["database"] == "open"

    # when it is reset, fresh data is served again
    assert api("platform_admin").post(f"{BREAKERS}/database/reset").status_code == 200
    fresh = member.get("/api/v1/clinics")
    assert fresh.status_code == 200 and fresh["X-Cache"] == "MISS"
    assert b"Renamed" in fresh.content
    actions = list(OperatorAction.objects.order_by("at").values_list("action", "target"))
    assert actions == [("breaker_force_open", "database"), ("breaker_reset", "database")]


def test_database_errors_in_a_request_are_503_and_open_the_breaker(api, tenant_a, monkeypatch):
    from django.db import OperationalError

    from clinics.views import ClinicViewSet

    def unreachable(**kwargs):
        raise OperationalError("could not connect to server: Connection refused (10.0.0.7)")

    monkeypatch.setattr(ClinicViewSet, "list_selector", staticmethod(unreachable))
    member = api("member", tenant_a.id)
    statuses = set()
    for i in range(6):
        response = member.get(f"/api/v1/clinics?limit={i + 1}")  # distinct keys: all misses
        statuses.add(response.status_code)
        assert b"10.0.0.7" not in response.content
    assert statuses == {503}
    assert breaker("database").state == "open"
