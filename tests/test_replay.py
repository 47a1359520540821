"""``bench/replay``: the benchmark's workload, replayed in-process, reaches every route and answers it."""

from __future__ import annotations

import os
import time

import pytest
from django.core.management import call_command
from django.db import connection

from bench.replay import ServerClocks, cpu_seconds, local_process, replay, report
from bench.run import Workload
from tests.conftest import keeping_test_connection

pytestmark = pytest.mark.django_db


def _seed() -> None:
    call_command(
        "seed_demo",
        "--organizations", "3",
        "--clinics-per-org", "3",
        "--providers-per-org", "4",
        "--assignments-per-provider", "2",
        "--no-progress",
        stdout=None,
    )  # fmt: skip


def test_the_replayed_workload_is_answered_and_charged_to_its_routes(no_throttles):
    _seed()
    with keeping_test_connection():
        costs = replay(warm=40, requests=200, seed=7)

    assert set(costs) <= {route for route, _ in Workload.ROUTES}
    assert len(costs) >= 8, sorted(costs)  # 200 draws over 11 weighted routes
    assert sum(sum(c.requests.values()) for c in costs.values()) == 200
    statuses = {s for c in costs.values() for s in c.statuses}
    assert statuses == {200}, {route: c.statuses for route, c in costs.items()}
    assert sum(c.requests["hit"] for c in costs.values()) > 0  # the warm-up filled the cache
    assert all(c.requests["hit"] == 0 for r, c in costs.items() if r.startswith("PATCH"))
    assert all(sum(c.seconds.values()) > 0 for c in costs.values())
    assert "ms of CPU per request" in report(costs).splitlines()[0]


def test_every_replay_starts_from_an_empty_cache(no_throttles, monkeypatch):
    """A second run of the same requests must not hit what the first stored (an A/B of two
    trees alternates runs against one Redis). Reads only: the second run's renames would
    write the names the first one already wrote, and invalidate nothing."""
    reads = [(route, weight) for route, weight in Workload.ROUTES if route.startswith("GET")]
    monkeypatch.setattr(Workload, "ROUTES", reads)
    _seed()
    with keeping_test_connection():
        runs = [replay(warm=0, requests=60, seed=3) for _ in range(2)]
    first, second = ({r: c.requests["hit"] for r, c in run.items()} for run in runs)
    assert first == second


def _own_command() -> str:
    with open(f"/proc/{os.getpid()}/comm") as comm:
        return comm.read().strip()


def test_cpu_seconds_reads_a_process_clock():
    before = cpu_seconds(os.getpid())
    deadline = time.thread_time() + 0.05
    while time.thread_time() < deadline:
        pass
    after = cpu_seconds(os.getpid())
    assert before is not None and after is not None
    assert after - before >= 0.04
    assert cpu_seconds(2**22 + 12345) is None  # above pid_max: no such process


def test_a_server_pid_counts_only_for_a_local_process_of_that_program():
    me, command = os.getpid(), _own_command()
    assert local_process(me, "127.0.0.1", command) == me
    assert local_process(me, "localhost", command) == me
    assert local_process(me, "", command) == me  # PostgreSQL's default: the local socket
    assert local_process(me, "/var/run/postgresql", command) == me
    # Elsewhere the pid is the server's own namespace's: some other local process, or none.
    assert local_process(me, "db.internal", command) is None
    assert local_process(me, "10.0.0.5", command) is None
    assert local_process(me, "127.0.0.1", "redis-server") is None
    assert local_process(None, "127.0.0.1", command) is None
    assert local_process(2**22 + 12345, "127.0.0.1", command) is None


def test_the_servers_cpu_is_charged_to_the_routes_when_they_run_here(no_throttles):
    """Misses query the database and every request asks Redis: both clocks move, per route."""
    _seed()
    with keeping_test_connection():
        costs = replay(warm=40, requests=200, seed=7)
    clocks = ServerClocks()
    text = report(costs)
    redis_seconds = sum(c.server_seconds["redis"] for c in costs.values())
    database_seconds = sum(c.server_seconds["database"] for c in costs.values())
    if clocks.redis_pid is not None:
        assert redis_seconds > 0
        assert "Redis" in text.splitlines()[0]
    if connection.vendor == "postgresql":
        with keeping_test_connection():
            assert clocks.read()["database"] is not None
        assert database_seconds > 0
        patch = costs["PATCH /clinics/{id}"]
        assert patch.server_seconds["database"] > 0  # every rename is a transaction
        assert "PostgreSQL backend" in text.splitlines()[0]
        assert "db ms/req" in text.splitlines()[1]
    else:
        assert database_seconds == 0
        assert "SQLite runs in this process: its CPU is the app's" in text.splitlines()[0]
