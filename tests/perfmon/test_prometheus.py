"""``/metrics``: the project's metrics, readable from allowed networks or with the token only."""

from __future__ import annotations

import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_metrics_are_served_to_loopback_and_count_requests(client, api, tenant_a):
    api("member", tenant_a.id).get("/api/v1/organizations")

    response = client.get("/metrics")  # the test client's REMOTE_ADDR is 127.0.0.1

    assert response.status_code == 200
    text = response.content.decode()
    assert 'perfmon_requests_total{method="GET",route="/api/v1/organizations",status="200"}' in text
    assert "perfmon_request_duration_seconds_bucket" in text
    assert 'perfmon_cache_events_total{outcome="miss",resource="organizations"}' in text
    assert 'perfmon_circuit_breaker_state{breaker="database"}' in text


@pytest.mark.django_db
def test_invalidations_are_counted_per_resource(client, tenant_a):
    from enterprise.cache.invalidation import bump_resources

    def invalidations() -> float:
        text = client.get("/metrics").content.decode()
        prefix = 'perfmon_cache_events_total{outcome="invalidation",resource="clinics"} '
        lines = [line for line in text.splitlines() if line.startswith(prefix)]
        return float(lines[0].split()[-1]) if lines else 0.0

    before = invalidations()
    bump_resources(organization_ids=[tenant_a.id], resources=["clinics"])
    assert invalidations() == before + 1


@pytest.mark.django_db
def test_metrics_are_hidden_from_other_networks(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
@override_settings(PERFMON={"METRICS_TOKEN": "s3cret-scrape-token", "METRICS_NETWORKS": []})
def test_metrics_token_opens_them_from_anywhere(client):
    assert client.get("/metrics").status_code == 404
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 404
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert right.status_code == 200


def test_a_request_batch_adds_what_observing_each_request_adds():
    """``RequestBatch`` writes the latency histogram through its children's internals: the
    result must be what ``observe()`` of every value gives (a guard for prometheus_client
    upgrades), and the counters must add up."""
    from prometheus_client import CollectorRegistry, Histogram

    from perfmon import prometheus

    route, method = "/test/request-batch", "GET"
    values = [0.0004, 0.001, 0.0025, 0.003, 0.2, 0.2000001, 0.75, 29.0, 45.0, 0.001]
    reference = Histogram(
        "reference_seconds",
        "observe() of every value",
        buckets=prometheus._LATENCY_BUCKETS,
        registry=CollectorRegistry(),
    )
    latency = prometheus._child(prometheus.LATENCY, route, method)
    requests = prometheus._child(prometheus.REQUESTS, route, method, "200")
    before = ([b.get() for b in latency._buckets], latency._sum.get(), requests._value.get())

    batch = prometheus.RequestBatch()
    for seconds in values:
        reference.observe(seconds)
        batch.add(method, route, 200, seconds, 0, None, None)
    batch.apply()

    assert len(latency._buckets) == len(reference._buckets) == len(prometheus._LATENCY_BUCKETS) + 1
    assert [b.get() - was for b, was in zip(latency._buckets, before[0], strict=True)] == [
        b.get() for b in reference._buckets
    ]
    assert latency._sum.get() - before[1] == pytest.approx(reference._sum.get())
    assert requests._value.get() - before[2] == len(values)
