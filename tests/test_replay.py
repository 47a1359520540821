"""``bench/replay``: the benchmark's workload, replayed in-process, reaches every route and answers it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from bench.replay import replay, report
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
