"""Process-level faults under gunicorn: a black-holed MongoDB, a killed worker, a graceful reload."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from bench.servers import Service
from enterprise.api.authentication import issue_token
from enterprise.tenancy import Role

# They run their own services, independent of the lane's database: once, in the SQLite lane.
pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="runs its own services (SQLite lane only)",
)


def get(port: int, path: str, token: str | None = None, timeout: float = 40):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.monotonic() - started
    except (
        urllib.error.URLError,
        ConnectionError,
        TimeoutError,
        http.client.HTTPException,
    ) as error:
        # HTTPException: e.g. IncompleteRead from a worker killed mid-answer (a lost request,
        # counted as one; escaping would end the client thread and hide its later requests).
        return None, repr(error).encode(), time.monotonic() - started


@pytest.fixture
def black_hole():
    """A 'MongoDB' that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_black_holed_mongodb_is_answered_within_the_budget_not_after_30_s(black_hole, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"mongodb://127.0.0.1:{black_hole}/enterprise",
        "REDIS_URL": "",
        "BENCH_LOG_DIR": str(tmp_path),
    }
    service = Service("blackhole", "enterprise.wsgi", env, cpu="0-1", workers=1, threads=2)
    service.start()
    try:
        token = issue_token(subject="t", role=Role.MEMBER, organization_id="a" * 24, ttl_seconds=60)
        status, body, seconds = get(service.port, "/api/v1/clinics", token)
        health = get(service.port, "/api/v1/performance/health")
    finally:
        service.stop()
    print((tmp_path / "blackhole.log").read_text()[-8000:])  # shown when the test fails
    assert status == 503, body
    assert json.loads(body)["error"]["code"] == "database_unavailable"
    assert seconds < 5, seconds  # pymongo's 1 s server selection, not its 30 s default
    assert health[0] == 503 and health[2] < 5


@pytest.fixture
def sqlite_service(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "BENCH_LOG_DIR": str(tmp_path),
    }
    subprocess.run(
        [
            str(Path(__file__).resolve().parents[2] / ".venv/bin/python"),
            "manage.py",
            "migrate",
            "-v0",
        ],
        env=env,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    service = Service("workers", "enterprise.wsgi", env, cpu="0-1", workers=2, threads=2)
    service.start()
    yield service, tmp_path
    service.stop()


def _load(port: int, seconds: float, results: list) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        results.append(get(port, "/api/v1/performance/health", timeout=10)[0])


def test_killing_a_worker_loses_at_most_its_requests_and_a_reload_loses_none(sqlite_service):
    service, work = sqlite_service
    port = service.port

    # kill -9 one worker under load from 4 clients
    results: list = []
    clients = [threading.Thread(target=_load, args=(port, 3, results)) for _ in range(4)]
    for client in clients:
        client.start()
    time.sleep(1)
    os.kill(service.worker_pids()[0], signal.SIGKILL)
    for client in clients:
        client.join()
    failed = [r for r in results if r != 200]
    assert len(failed) <= 4, failed  # at most the requests in flight on that worker
    assert len(results) > 50

    # graceful reload (HUP) under load: nothing lost
    time.sleep(1)  # the master has replaced the killed worker
    results = []
    clients = [threading.Thread(target=_load, args=(port, 4, results)) for _ in range(4)]
    for client in clients:
        client.start()
    time.sleep(1)
    os.kill(service.process.pid, signal.SIGHUP)
    for client in clients:
        client.join()
    assert set(results) == {200}, [r for r in results if r != 200][:5]
    assert len(results) > 50
