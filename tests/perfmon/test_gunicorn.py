"""Under gunicorn with 4 workers, /metrics and metrics/summary count every worker's requests.

A real gunicorn master (with the shipped ``gunicorn.conf.py``: multiprocess
directory, worker exit hooks) on a free loopback port; requests are sent
from 8 threads so several workers answer.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from bench.servers import Service
from enterprise.api.authentication import issue_token
from enterprise.tenancy import Role

REQUESTS = 120
HEALTH = "/api/v1/performance/health"

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="runs its own service (SQLite lane only)",
)


def _get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


@pytest.fixture
def service(tmp_path: Path, recorder):
    """Shares this run's Redis (when there is one) as the metrics sink; ``recorder`` empties it."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",  # health only runs SELECT 1
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "PERFMON_DIRECTORY": str(tmp_path / "perfmon"),
        "BENCH_LOG_DIR": str(tmp_path),
    }
    service = Service("perfmon-gunicorn", "enterprise.wsgi", env, cpu="0-1", workers=4, threads=2)
    service.start()
    yield service
    service.stop()


def test_four_workers_add_up_in_metrics_and_in_the_summary(service, tmp_path):
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _get(service.port, HEALTH)[0], range(REQUESTS)))
    assert statuses == [200] * REQUESTS

    # Each worker writes its request metrics on its flush, every second: poll for them.
    for _ in range(30):
        status, body = _get(service.port, "/metrics")
        assert status == 200
        counted = sum(
            float(value)
            for value in re.findall(
                r'^perfmon_requests_total\{method="GET",route="/api/v1/performance/health",'
                r'status="200"\} ([0-9.e+]+)$',
                body.decode(),
                re.MULTILINE,
            )
        )
        if counted >= REQUESTS:
            break
        time.sleep(0.2)
    assert counted == REQUESTS
    workers_that_answered = len(list((tmp_path / "prometheus").glob("counter_*.db")))
    assert workers_that_answered >= 2

    token = issue_token(
        subject="ops", role=Role.PLATFORM_ADMIN, organization_id=None, ttl_seconds=60
    )
    # Workers publish their counters every second: wait for one full flush.
    for _ in range(30):
        summary = json.loads(_get(service.port, "/api/v1/performance/metrics/summary", token)[1])
        routes = {r["route"]: r for r in summary["window"]["routes"]}
        if routes.get(HEALTH, {}).get("requests") == REQUESTS:
            break
        time.sleep(0.2)
    assert routes[HEALTH]["requests"] == REQUESTS
    assert routes[HEALTH]["p50Ms"] is not None


def test_the_master_freezes_start_up_objects_before_forking(service, tmp_path):
    # gunicorn.conf.py's when_ready hook (enterprise.warmup.freeze_startup_objects).
    log = (tmp_path / "perfmon-gunicorn.log").read_text()
    frozen = re.search(r"gc: (\d+) start-up objects frozen", log)
    assert frozen, log[-2000:]
    assert int(frozen.group(1)) > 10_000
    assert log.index("gc: ") < log.index("Booting worker")
