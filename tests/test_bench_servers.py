"""bench.servers runs PostgreSQL and Redis where ``cpus`` says (``bench/run --database-cpus``).

Real servers: the PostgreSQL lane only (its binaries are there), like the outage tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition

from bench.servers import Postgres, Redis

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL lane"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

ONE_CPU = str(min(os.sched_getaffinity(0)))


@pytest.fixture
def work():
    path = Path(tempfile.mkdtemp(prefix="enterprise-pinned-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in out.split()]


def test_postgres_and_every_backend_run_on_the_given_cpus(work):
    server = Postgres(work, cpus=ONE_CPU)
    url = server.start()
    try:
        postmaster = int((server.dir / "postmaster.pid").read_text().split()[0])
        with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            assert backend in _children(postmaster)
            pids = [postmaster, backend, *_children(postmaster)]
            assert {frozenset(os.sched_getaffinity(pid)) for pid in pids} == {
                frozenset({int(ONE_CPU)})
            }
    finally:
        server.stop()


def test_redis_runs_on_the_given_cpus(work):
    server = Redis(work, cpus=ONE_CPU)
    server.start()
    try:
        assert os.sched_getaffinity(server.process.pid) == {int(ONE_CPU)}
    finally:
        server.stop()


def test_unpinned_servers_keep_every_cpu(work):
    server = Redis(work)
    server.start()
    try:
        assert os.sched_getaffinity(server.process.pid) == os.sched_getaffinity(0)
    finally:
        server.stop()
