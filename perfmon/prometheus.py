"""The project's Prometheus metrics and the protected ``/metrics`` view.

Exported through django-prometheus' view, which merges every gunicorn
worker's samples when ``PROMETHEUS_MULTIPROC_DIR`` is set (``gunicorn.conf.py``
sets it, empties it on start and marks dead workers). Request metrics are
observed by perfmon at the WSGI boundary rather than by django-prometheus'
middleware pair, because cache hits are answered before Django runs and
would otherwise be invisible. A worker adds its request observations up and
writes them on its recorder's flush (``RequestBatch``), so another worker's
last second reaches ``/metrics`` within ``PERFMON["FLUSH_SECONDS"]``.

``/metrics`` is not public: callers from ``PERFMON["METRICS_NETWORKS"]`` (by
``REMOTE_ADDR``, loopback by default) or with ``Authorization: Bearer
<METRICS_TOKEN>`` may read it; anyone else gets a 404, as if it were absent.
"""

from __future__ import annotations

import hmac
import ipaddress
from bisect import bisect_left
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


class RequestBatch:
    """Request observations added up in the worker, written to the metrics in one pass.

    In multiprocess mode every ``inc()`` takes a lock, checks the pid and
    writes to a memory-mapped file; a request made four of them (a counter,
    two for the latency histogram, a cache outcome), a few percent of what a
    cache hit costs in the worker. ``add()`` is a few dictionary increments under the
    recorder's lock instead, and ``apply()`` runs on the recorder's flush
    (every ``FLUSH_SECONDS``, off the request path, and before ``/metrics``
    exports): one write per series per flush, with the same totals.
    """

    __slots__ = ("counts", "latency")

    def __init__(self) -> None:
        #: (metric, *labels) -> amount to add, for the three counters.
        self.counts: dict[tuple[object, ...], float] = {}
        #: (route, method) -> [sum of seconds, count in each latency bucket (+Inf last)].
        self.latency: dict[tuple[str, str], list[Any]] = {}

    def add(
        self,
        method: str,
        route: str,
        status: int,
        seconds: float,
        db_round_trips: int,
        cache: str | None,
        resource: str | None,
    ) -> None:
        counts = self.counts
        key: tuple[object, ...] = (REQUESTS, route, method, str(status))
        counts[key] = counts.get(key, 0) + 1
        if db_round_trips:
            key = (DB_ROUND_TRIPS, route)
            counts[key] = counts.get(key, 0) + db_round_trips
        if cache and resource:
            key = (CACHE_EVENTS, resource, cache.lower())
            counts[key] = counts.get(key, 0) + 1
        series = self.latency.get((route, method))
        if series is None:
            series = self.latency[(route, method)] = [0.0, [0] * (len(_LATENCY_BUCKETS) + 1)]
        series[0] += seconds
        # The histogram's own rule: the first bucket whose upper bound is >= the value.
        series[1][bisect_left(_LATENCY_BUCKETS, seconds)] += 1

    def apply(self) -> None:
        for (metric, *labels), amount in self.counts.items():
            _child(metric, *labels).inc(amount)
        for (route, method), (total, buckets) in self.latency.items():
            # What ``observe()`` does per value (prometheus_client's Histogram: a sum
            # and one bucket per observation; buckets are made cumulative on export),
            # applied once per bucket with the batch's count.
            child = _child(LATENCY, route, method)
            child._sum.inc(total)
            for index, count in enumerate(buckets):
                if count:
                    child._buckets[index].inc(count)


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
    from perfmon.recorder import get_recorder

    get_recorder().flush_metrics()  # this worker's last second; the others' lag < FLUSH_SECONDS
    response = ExportToDjangoView(request)
    response["Cache-Control"] = "no-store"
    return response
