"""``/api/v1/performance/...``: who may call what, and what the answers say."""

from __future__ import annotations

import pytest

from enterprise.cache.keys import RESOURCES
from perfmon.models import OperatorAction

PROTECTED = [
    ("get", "/api/v1/performance/cache/stats"),
    ("get", "/api/v1/performance/metrics/summary"),
    ("post", "/api/v1/performance/cache/clear"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_monitoring_endpoints_are_for_platform_admins_only(api, tenant_a, method, url):
    assert getattr(api(), method)(url).status_code == 401
    for role in ("org_admin", "member"):
        response = getattr(api(role, tenant_a.id), method)(url, {"all": True}, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    assert OperatorAction.objects.count() == 0


@pytest.mark.django_db
def test_health_needs_no_token(api):
    assert api().get("/api/v1/performance/health").status_code == 200


@pytest.mark.django_db
def test_metrics_summary_reports_each_route_it_served(api, tenant_a, recorder):
    member = api("member", tenant_a.id)
    for _ in range(3):
        assert member.get("/api/v1/clinics").status_code == 200
    assert member.get(f"/api/v1/clinics/{tenant_a.clinics[0].pk}").status_code == 200
    assert member.get("/api/v1/clinics/ffffffffffffffffffffffff").status_code == 404

    response = api("platform_admin").get("/api/v1/performance/metrics/summary?window=60")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    routes = {(r["method"], r["route"]): r for r in response.json()["window"]["routes"]}
    clinics = routes[("GET", "/api/v1/clinics")]
    assert clinics["requests"] == 3
    assert clinics["cacheMisses"] == 1 and clinics["cacheHits"] == 2
    assert clinics["p50Ms"] > 0 and clinics["p99Ms"] >= clinics["p50Ms"]
    assert clinics["budgetP95Ms"] == 200
    detail = routes[("GET", "/api/v1/clinics/{id}")]
    assert detail["requests"] == 2 and detail["errors4xx"] == 1
    assert detail["dbRoundTripsPerRequest"] >= 0.5  # the miss and the 404 read the database


@pytest.mark.django_db
@pytest.mark.parametrize("window", ["soon", "", "5", "999999"])
def test_metrics_summary_window_is_validated(api, window):
    response = api("platform_admin").get(f"/api/v1/performance/metrics/summary?window={window}")
    assert response.status_code == 400
    assert "window" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_cache_stats_count_hits_and_misses_per_resource(api, tenant_a):
    member = api("member", tenant_a.id)
    member.get("/api/v1/providers")
    member.get("/api/v1/providers")

    body = api("platform_admin").get("/api/v1/performance/cache/stats").json()

    assert set(body["resources"]) == set(RESOURCES)
    providers = body["resources"]["providers"]
    assert providers["hits"] >= 1 and providers["misses"] >= 1
    assert 0 < providers["hitRate"] < 1
    assert body["store"] in {"redis", "local"}


@pytest.mark.django_db
def test_cache_clear_invalidates_and_is_audited(api, tenant_a):
    member = api("member", tenant_a.id)
    assert member.get("/api/v1/clinics")["X-Cache"] == "MISS"
    assert member.get("/api/v1/clinics")["X-Cache"] == "HIT"

    response = api("platform_admin").post(
        "/api/v1/performance/cache/clear",
        {"resources": ["clinics"], "organizationIds": [tenant_a.id]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["bumpedKeys"] and response.json()["applied"] is True
    assert member.get("/api/v1/clinics")["X-Cache"] == "MISS"
    (action,) = OperatorAction.objects.all()
    assert (action.action, action.source, action.target) == ("cache_clear", "api", "clinics")
    assert action.actor == "tester"
    assert action.detail["organizationIds"] == [tenant_a.id]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "nonFieldErrors"),
        ({"resources": ["patients"]}, "resources"),
        ({"organizationIds": ["not-an-id"]}, "organizationIds"),
        ({"all": "maybe"}, "all"),
    ],
)
def test_cache_clear_rejects_bad_bodies_naming_the_field(api, body, field):
    response = api("platform_admin").post("/api/v1/performance/cache/clear", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert OperatorAction.objects.count() == 0


@pytest.mark.django_db
def test_cache_clear_dry_run_changes_nothing(api, tenant_a):
    member = api("member", tenant_a.id)
    member.get("/api/v1/clinics")
    response = api("platform_admin").post(
        "/api/v1/performance/cache/clear", {"all": True, "dryRun": True}, format="json"
    )
    assert response.json()["applied"] is False
    assert member.get("/api/v1/clinics")["X-Cache"] == "HIT"
    assert OperatorAction.objects.count() == 0


@pytest.mark.django_db
def test_cache_stats_count_embedded_objects_per_resource(api, tenant_a):
    member, admin = api("member", tenant_a.id), api("platform_admin")
    first, second = tenant_a.clinics

    def providers() -> dict:
        return admin.get("/api/v1/performance/cache/stats").json()["resources"]["providers"]

    before = providers()
    member.get(f"/api/v1/assignments/clinic/{first.pk}/staff")  # both providers loaded
    member.get(f"/api/v1/assignments/clinic/{second.pk}/staff")  # the first provider, cached
    after = providers()

    assert after["objectMisses"] - before["objectMisses"] == 2
    assert after["objectHits"] - before["objectHits"] == 1
