"""``bench/replay``: the benchmark's workload, replayed in-process, reaches every route and answers it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from bench.replay import replay, report
from bench.run import Workload
from tests.conftest import keeping_test_connection

pytestmark = pytest.mark.django_db


def test_the_replayed_workload_is_answered_and_charged_to_its_routes(no_throttles):
    call_command(
        "seed_demo",
        "--organizations", "3",
        "--clinics-per-org", "3",
        "--providers-per-org", "4",
        "--assignments-per-provider", "2",
        "--no-progress",
        stdout=None,
    )  # fmt: skip
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
