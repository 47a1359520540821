"""Percentiles from bucket counts, and counters that add up across worker processes."""

from __future__ import annotations

import multiprocessing
import random

import pytest

from perfmon.histogram import GROWTH, bucket_of, percentiles
from perfmon.recorder import Recorder
from perfmon.sinks import FileSink, RedisSink
from perfmon.summary import metrics_summary

TOLERANCE = GROWTH**0.5 - 1  # the bucket's half-width, relative


def exact_percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-int(q * len(ordered) * 1000) // 1000) - 1)]


@pytest.mark.parametrize(
    "distribution",
    [
        [float(ms) for ms in range(1, 1001)],  # uniform 1..1000 ms
        [random.Random(7).lognormvariate(3, 1) for _ in range(20_000)],  # long tail
        [0.4] * 900 + [250.0] * 100,  # bimodal: cached hits and misses
    ],
    ids=["uniform", "lognormal", "bimodal"],
)
def test_percentiles_from_a_known_distribution_are_within_a_bucket(distribution):
    counts: dict[int, int] = {}
    for ms in distribution:
        counts[bucket_of(ms)] = counts.get(bucket_of(ms), 0) + 1

    p50, p95, p99 = percentiles(counts, (0.5, 0.95, 0.99))

    for got, q in ((p50, 0.5), (p95, 0.95), (p99, 0.99)):
        want = sorted(distribution)[int(-(-q * len(distribution) // 1)) - 1]
        assert abs(got - want) / want <= TOLERANCE + 1e-9, (q, got, want)


def test_no_samples_no_percentiles():
    assert percentiles({}, (0.5, 0.99)) == [None, None]


def _sink(kind: str, directory: str):
    from django.conf import settings

    from enterprise.cache.stores import RedisStore, get_store

    if kind == "files":
        return FileSink(directory, slot_seconds=10, history_seconds=3600, keep_samples=10)
    store = get_store()
    if not isinstance(store, RedisStore):
        pytest.skip(f"no Redis configured ({settings.CACHES['default']['BACKEND']})")
    # Its own key prefix: this process's recorder publishes to the default one meanwhile.
    return RedisSink(
        store.client, history_seconds=3600, keep_samples=10, prefix=f"perfmon-test-{directory}:"
    )


def _worker(kind: str, directory: str, n: int, ms: float) -> None:
    recorder = Recorder(_sink(kind, directory))
    for _ in range(n):
        recorder.record(
            method="GET", route="/api/v1/clinics", status=200, seconds=ms / 1000, cache="HIT"
        )
    recorder.flush()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["redis", "files"])
def test_two_worker_processes_add_up_in_the_summary(kind, tmp_path):
    # given two forked worker processes recording different latencies into one shared sink
    sink = _sink(kind, str(tmp_path))
    sink.reset()
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_worker, args=(kind, str(tmp_path), 300, 2.0)),
        context.Process(target=_worker, args=(kind, str(tmp_path), 100, 40.0)),
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(30)
        assert process.exitcode == 0

    # when this process reads the summary
    summary = metrics_summary(sink)

    # then it counts both processes' requests, and the percentiles span both
    (route,) = [r for r in summary["window"]["routes"] if r["route"] == "/api/v1/clinics"]
    assert route["requests"] == 400
    assert route["cacheHits"] == 400
    assert abs(route["p50Ms"] - 2.0) / 2.0 <= TOLERANCE
    assert abs(route["p95Ms"] - 40.0) / 40.0 <= TOLERANCE
    assert summary["sinceStart"]["overall"]["requests"] == 400
