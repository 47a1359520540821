"""``bench.run.highest_passing_rate``: the rate sweep's search for a build's maximum."""

from __future__ import annotations

import pytest

from bench.run import highest_passing_rate


def _search(limit: float, **kwargs: float) -> tuple[float, list[float]]:
    """The search against a service that passes every rate up to ``limit``; the rates it offered."""
    offered: list[float] = []

    def passes(rate: float) -> bool:
        offered.append(rate)
        return rate <= limit

    best = highest_passing_rate(passes, start=20, factor=1.5, max_rate=6000, **kwargs)
    return best, offered


@pytest.mark.parametrize("limit", [29, 87, 150, 713, 760, 1069, 2222])
def test_the_maximum_found_is_within_the_resolution_below_the_true_one(limit: float) -> None:
    best, _ = _search(limit, resolution=0.04)

    assert best <= limit
    assert limit - best <= 0.04 * best + 1  # +1: rates are whole numbers


def test_two_bisections_were_coarser_than_the_resolution_now_asked() -> None:
    # The rule until 2026-12-06: two bisections after the first failing step.
    coarse, _ = _search(760, resolution=0.0, max_refinements=2)
    fine, offered = _search(760)

    assert coarse == 712
    assert 730 <= fine <= 760
    assert offered[:7] == [20, 30, 45, 68, 102, 153, 230]  # geometric steps first
    assert len(offered) == len(set(offered))  # no rate is measured twice


def test_the_bisection_stops_at_max_refinements() -> None:
    _, offered = _search(760, resolution=0.0, max_refinements=3)
    steps_up = 10  # 20, 30, ... 518, then 777 (the first failing rate)

    assert len(offered) == steps_up + 3


def test_nothing_passes_gives_zero_and_no_bisection() -> None:
    best, offered = _search(10)

    assert best == 0
    assert offered == [20]


def test_a_service_that_never_fails_stops_at_max_rate() -> None:
    best, offered = _search(10**9)

    assert best <= 6000 < best * 1.5 + 1
    assert all(rate <= 6000 for rate in offered)
