"""Real faults against a real service: PostgreSQL stopped and restarted under gunicorn.

A throw-away PostgreSQL and Redis (bench.servers), a small seeded database,
and gunicorn with 2 workers. The test stops PostgreSQL itself, checks what
clients see during the outage, restarts it and checks recovery. Runs in the
PostgreSQL lane (it needs the PostgreSQL binaries scripts/test installs).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection  # noqa: F401 - read by the skipif condition

from bench.servers import ROOT, Postgres, Redis, Service
from enterprise.api.authentication import issue_token
from enterprise.tenancy import Role

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL lane"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


def call(port: int, method: str, path: str, token: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status, headers, content = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, content = error.code, error.headers, error.read()
    return status, headers, content, time.monotonic() - started


@pytest.fixture(scope="module")
def stack():
    work = Path(tempfile.mkdtemp(prefix="enterprise-outage-", dir="/tmp"))
    os.chmod(work, 0o755)
    postgres, redis = Postgres(work), Redis(work)
    database_url, redis_url = postgres.start(), redis.start()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CACHE_TTL_LIST": "2",  # lists go stale quickly: the outage exercises the shadow copies
        "CACHE_STALE_GRACE": "1",
        "DB_BREAKER_OPEN_SECONDS": "1",
        "BUDGET_DEFAULT_SECONDS": "2",  # the frozen-server test waits out this budget
        "DB_BREAKER_CONSECUTIVE_FAILURES": "2",
        "BENCH_LOG_DIR": str(work),
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run(
        [*manage, "seed_demo", "--organizations", "2", "--clinics-per-org", "5", "--no-progress"],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    service = Service("outage", "enterprise.wsgi", env, cpu="0-1", workers=2, threads=2)
    service.start()
    yield postgres, service, work
    service.stop()
    print((work / "outage.log").read_text()[-20000:])  # shown by pytest when the test failed
    redis.stop()
    postgres.stop()
    shutil.rmtree(work, ignore_errors=True)


def test_postgresql_stopped_then_restarted(stack):
    postgres, service, _ = stack
    port = service.port
    platform = issue_token(
        subject="ops", role=Role.PLATFORM_ADMIN, organization_id=None, ttl_seconds=600
    )
    status, _, body, _ = call(port, "GET", "/api/v1/organizations?limit=2", platform)
    assert status == 200
    org = json.loads(body)["results"][0]["id"]
    admin = issue_token(subject="admin", role=Role.ORG_ADMIN, organization_id=org, ttl_seconds=600)
    status, _, body, _ = call(port, "GET", "/api/v1/clinics?limit=5", admin)
    clinic_id = json.loads(body)["results"][0]["id"]
    cached = [
        "/api/v1/clinics?limit=5",
        f"/api/v1/clinics/{clinic_id}",
        "/api/v1/providers?limit=3",
    ]
    for path in cached:  # warm every worker's view of the shared cache
        for _ in range(4):
            assert call(port, "GET", path, admin)[0] == 200

    postgres.stop()
    try:
        time.sleep(2.5)  # the list entries are now past their TTL and grace
        outage: list[tuple[str, int, str, float]] = []
        for _ in range(3):
            for path in cached:
                status, headers, _, seconds = call(port, "GET", path, admin)
                outage.append((path, status, headers.get("X-Cache", ""), seconds))
        status, headers, body, seconds = call(port, "GET", "/api/v1/providers?limit=7", admin)
        uncached = (status, headers.get("Retry-After"), json.loads(body)["error"]["code"], seconds)
        write = call(port, "PATCH", f"/api/v1/clinics/{clinic_id}", admin, {"name": "Outage edit"})
    finally:
        postgres.start_server()

    # cached reads kept answering 200 (fresh hits or stale copies), quickly
    assert {status for _, status, _, _ in outage} == {200}, outage
    assert "STALE" in {cache for _, _, cache, _ in outage}, outage
    # at most the read-retry window (0.25 + 0.5 + 1 + 2 s) before the breaker opens, then at once
    assert max(seconds for *_, seconds in outage) < 5, outage
    # an uncached read is a 503 that says when to retry
    assert uncached[0] == 503 and int(uncached[1]) >= 1 and uncached[2] == "database_unavailable"
    assert uncached[3] < 5
    # the write was refused and nothing of it landed
    assert write[0] == 503

    # recovery: the breaker half-opens, probes and closes. A client that honours
    # Retry-After gets its write applied and then reads it back, fresh.
    edit = retry_after_503(port, "PATCH", f"/api/v1/clinics/{clinic_id}", admin, {"name": "After"})
    assert edit[0] == 200, edit[2]
    read = retry_after_503(port, "GET", f"/api/v1/clinics/{clinic_id}", admin)
    assert read[0] == 200 and read[1].get("X-Cache") != "STALE"
    assert json.loads(read[2])["name"] == "After"
    fresh = retry_after_503(port, "GET", "/api/v1/providers?limit=7", admin)
    assert fresh[0] == 200


def retry_after_503(port: int, method: str, path: str, token: str, body: dict | None = None):
    """Call until the answer is neither a 503 nor a stale copy (waiting Retry-After), for 20 s."""
    deadline = time.monotonic() + 20
    while True:
        result = call(port, method, path, token, body)
        status, headers = result[0], result[1]
        retry = status == 503 or headers.get("X-Cache") == "STALE"
        if not retry or time.monotonic() > deadline:
            return result
        time.sleep(min(float(headers.get("Retry-After") or 0.5), 2))


def _postgres_pids(postgres: Postgres) -> list[int]:
    postmaster = int((postgres.dir / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True)
    return [postmaster, *(int(pid) for pid in children.stdout.split())]


def test_postgresql_frozen_every_request_is_answered_within_its_deadline(stack):
    postgres, service, work = stack
    port = service.port
    platform = issue_token(
        subject="ops", role=Role.PLATFORM_ADMIN, organization_id=None, ttl_seconds=600
    )
    for _ in range(6):  # every worker thread holds an open connection
        assert retry_after_503(port, "GET", "/api/v1/organizations?limit=1", platform)[0] == 200

    pids = _postgres_pids(postgres)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(6) as pool:
            results = list(
                pool.map(
                    lambda n: call(port, "GET", f"/api/v1/clinics?limit={n + 1}", platform),
                    range(12),
                )
            )
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    assert {status for status, *_ in results} <= {503, 504}, [r[0] for r in results]
    # Inside the service each request ends within its deadline: the 2 s budget + 1 s watchdog
    # margin; a reconnect gets only what is left, in libpq's whole seconds (perfmon's lines).
    log = (work / "outage.log").read_text()
    slow = [
        json.loads(line.split("perfmon.slow ", 1)[1])
        for line in log.splitlines()
        if "perfmon.slow " in line and '"kind": "request"' in line
    ]
    assert slow and max(s["duration_ms"] for s in slow) < 4500, slow
    # Clients also waited in the queue behind 4 busy threads: a few waves of those.
    assert max(seconds for *_, seconds in results) < 15, [round(r[3], 1) for r in results]
    # after SIGCONT the cut connections are replaced and requests succeed again
    assert retry_after_503(port, "GET", "/api/v1/clinics?limit=50", platform)[0] == 200
    assert "WORKER TIMEOUT" not in (work / "outage.log").read_text()


def test_postgresql_restarted_under_load_costs_readers_time_not_errors(stack):
    postgres, service, work = stack
    port = service.port
    platform = issue_token(
        subject="ops", role=Role.PLATFORM_ADMIN, organization_id=None, ttl_seconds=600
    )
    assert retry_after_503(port, "GET", "/api/v1/organizations?limit=1", platform)[0] == 200
    # start closed: the previous test left the breaker recovering (half-open, few probes)
    assert (
        call(port, "POST", "/api/v1/performance/circuit-breakers/database/reset", platform)[0]
        == 200
    )
    time.sleep(1.1)  # every worker re-reads the shared state
    results: list[tuple[int, float]] = []
    stop = time.monotonic() + 6

    def reader(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            i += 1  # a new limit each time: uncached, every read goes to the database
            status, _, _, seconds = call(
                port, "GET", f"/api/v1/providers?limit={(n * 1000 + i) % 100 + 1}", platform
            )
            results.append((status, seconds))

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    postgres.stop()  # immediate shutdown: in-flight queries die, new connections are refused
    postgres.start_server()
    for thread in threads:
        thread.join()

    errors = [status for status, _ in results if status != 200]
    assert len(results) > 40
    assert errors == [], f"{len(errors)} of {len(results)}: {sorted(set(errors))}"
    assert max(seconds for _, seconds in results) < 5


def test_ten_second_outage_under_steady_load_loses_no_cached_read_and_no_write_half_applied(
    stack,
):
    postgres, service, _ = stack
    port = service.port
    platform = issue_token(
        subject="ops", role=Role.PLATFORM_ADMIN, organization_id=None, ttl_seconds=600
    )
    assert retry_after_503(port, "GET", "/api/v1/organizations?limit=2", platform)[0] == 200
    call(port, "POST", "/api/v1/performance/circuit-breakers/database/reset", platform)
    org = json.loads(call(port, "GET", "/api/v1/organizations?limit=1", platform)[2])["results"][0]
    admin = issue_token(
        subject="admin", role=Role.ORG_ADMIN, organization_id=org["id"], ttl_seconds=600
    )
    clinics = json.loads(call(port, "GET", "/api/v1/clinics?limit=5", admin)[2])["results"]
    cached = ["/api/v1/clinics?limit=5", *(f"/api/v1/clinics/{c['id']}" for c in clinics[:3])]
    for path in cached:
        assert retry_after_503(port, "GET", path, admin)[0] == 200

    reads: list[tuple[str, int]] = []
    writes: list[tuple[str, str, int]] = []  # (clinic id, name sent, status)
    stop = time.monotonic() + 16

    def reader() -> None:
        while time.monotonic() < stop:
            for path in cached:
                reads.append((path, call(port, "GET", path, admin)[0]))
            time.sleep(0.05)

    def writer() -> None:
        n = 0
        while time.monotonic() < stop:
            n += 1
            clinic = clinics[3 + n % 2]["id"]  # clinics no reader caches: every write is checked
            name = f"Steady write {n}"
            status = call(port, "PATCH", f"/api/v1/clinics/{clinic}", admin, {"name": name})[0]
            writes.append((clinic, name, status))
            time.sleep(0.2)

    threads = [threading.Thread(target=reader) for _ in range(2)] + [
        threading.Thread(target=writer)
    ]
    for thread in threads:
        thread.start()
    time.sleep(3)
    postgres.stop()
    time.sleep(10)
    postgres.start_server()
    for thread in threads:
        thread.join()

    # no cached read failed during the outage
    assert len(reads) > 100
    assert [r for r in reads if r[1] != 200] == []
    # every write was applied (200) or refused (503), never anything else
    assert {status for *_, status in writes} <= {200, 503}, writes
    assert 503 in {status for *_, status in writes}
    # and what the database holds is the last write answered 200 for each clinic
    for clinic in {c for c, _, _ in writes}:
        applied = [name for c, name, status in writes if c == clinic and status == 200]
        body = retry_after_503(port, "GET", f"/api/v1/clinics/{clinic}", admin)[2]
        assert json.loads(body)["name"] == applied[-1]
