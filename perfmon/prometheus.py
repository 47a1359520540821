"""The project's Prometheus metrics and the protected ``/metrics`` view.

Exported through django-prometheus' view, which merges every gunicorn
worker's samples when ``PROMETHEUS_MULTIPROC_DIR`` is set (``gunicorn.conf.py``
sets it, empties it on start and marks dead workers). Request metrics are
observed by perfmon at the WSGI boundary rather than by django-prometheus'
middleware pair, because cache hits are answered before Django runs and
would otherwise be invisible.

``/metrics`` is not public: callers from ``PERFMON["METRICS_NETWORKS"]`` (by
``REMOTE_ADDR``, loopback by default) or with ``Authorization: Bearer
<METRICS_TOKEN>`` may read it; anyone else gets a 404, as if it were absent.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache
from typing import Any

from django.http import HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import Counter, Gauge, Histogram

from perfmon.conf import perfmon_settings

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "perfmon_requests_total", "HTTP requests answered", ["route", "method", "status"]
)
LATENCY = Histogram(
    "perfmon_request_duration_seconds",
    "Time from the WSGI call to the response headers",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)
DB_ROUND_TRIPS = Counter(
    "perfmon_db_round_trips_total", "Database round trips made by requests", ["route"]
)
CACHE_EVENTS = Counter(
    "perfmon_cache_events_total",
    "Response cache outcomes (hit, miss, stale), refreshed misses and invalidations",
    ["resource", "outcome"],
)
SLOW_OPERATIONS = Counter(
    "perfmon_slow_operations_total", "Requests and database operations over threshold", ["kind"]
)
BREAKER_STATE = Gauge(
    "perfmon_circuit_breaker_state",
    "Circuit breaker state as this worker last saw it (0 closed, 1 half-open, 2 open)",
    ["breaker"],
    multiprocess_mode="max",
)
BREAKER_TRANSITIONS = Counter(
    "perfmon_circuit_breaker_transitions_total", "Circuit breaker state changes", ["breaker", "to"]
)


def observe_request(
    method: str,
    route: str,
    status: int,
    seconds: float,
    db_round_trips: int,
    cache: str | None,
    resource: str | None,
) -> None:
    _child(REQUESTS, route, method, str(status)).inc()
    _child(LATENCY, route, method).observe(seconds)
    if db_round_trips:
        _child(DB_ROUND_TRIPS, route).inc(db_round_trips)
    if cache and resource:
        _child(CACHE_EVENTS, resource, cache.lower()).inc()


_children: dict[tuple[object, ...], object] = {}


def _child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per label set (routes and outcomes are few).

    ``labels()`` validates and locks on every call, a fifth of what recording
    a cache hit cost; the child it returns is the same object every time.
    Children live as long as their metric, as they do in prometheus_client.
    """
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def may_read_metrics(request: HttpRequest) -> bool:
    conf = perfmon_settings()
    token = conf["METRICS_TOKEN"]
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(conf["METRICS_NETWORKS"])))


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not may_read_metrics(request):
        from enterprise.api.exceptions import json_page_not_found

        return json_page_not_found(request)
    response = ExportToDjangoView(request)
    response["Cache-Control"] = "no-store"
    return response
