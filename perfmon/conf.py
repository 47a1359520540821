"""perfmon settings: ``settings.PERFMON`` merged over these defaults (like DRF's ``api_settings``).

Request metrics
  ``SLOT_SECONDS`` (10)         width of one time slot; windows are whole slots.
  ``WINDOW_SECONDS`` (60)       the rolling window of ``metrics/summary`` (plus "since start").
  ``HISTORY_SECONDS`` (3600)    how long slots are kept (the dashboard's one-hour chart).
  ``FLUSH_SECONDS`` (1.0)       how often a worker publishes its counters to the shared sink.
  ``SINK`` ("auto")             ``redis`` (across hosts), ``files`` (one file per worker in
                                ``DIRECTORY``, one host) or ``auto``: Redis when ``REDIS_URL``
                                is set, files otherwise.
  ``DIRECTORY``                 where the file sink writes (default ``var/perfmon``).
  ``SUMMARY_LOG_SECONDS`` (60)  one worker logs a JSON summary line this often (0: never).
  ``BUDGETS``                   P95 budget in ms per route template, ``"default"`` for the
                                rest; ``metrics/summary`` reports routes over budget, and a
                                request slower than its route's budget is a slow request.

Database operations
  ``SLOW_QUERY_MS`` (100)       SQL statements / MongoDB commands slower than this are logged.
  ``SLOW_SAMPLES`` (100)        recent slow operations kept for the dashboard.
  ``N_PLUS_ONE`` ("off")        ``off`` | ``log`` | ``raise``: what to do when a request runs
                                one query shape more than ``N_PLUS_ONE_THRESHOLD`` times.
  ``N_PLUS_ONE_THRESHOLD`` (5)
  ``QUERY_COUNT_HEADER`` (False)  ``X-DB-Queries`` on every response (benchmarks, debugging).

Prometheus
  ``METRICS_TOKEN`` ("")        a bearer token that may read ``/metrics`` from anywhere.
  ``METRICS_NETWORKS``          networks that may read it without a token (loopback by default).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    "SLOT_SECONDS": 10,
    "WINDOW_SECONDS": 60,
    "HISTORY_SECONDS": 3600,
    "FLUSH_SECONDS": 1.0,
    "SINK": "auto",
    "DIRECTORY": None,
    "SUMMARY_LOG_SECONDS": 60,
    "BUDGETS": {"default": 200},
    "SLOW_QUERY_MS": 100,
    "SLOW_SAMPLES": 100,
    "N_PLUS_ONE": "off",
    "N_PLUS_ONE_THRESHOLD": 5,
    "QUERY_COUNT_HEADER": False,
    "METRICS_TOKEN": "",
    "METRICS_NETWORKS": ["127.0.0.0/8", "::1/128"],
}


@lru_cache(maxsize=1)
def perfmon_settings() -> dict[str, Any]:
    """The merged settings, memoised (read on every request); reset when a test overrides them."""
    merged = {**DEFAULTS, **getattr(settings, "PERFMON", {})}
    if merged["DIRECTORY"] is None:
        merged["DIRECTORY"] = str(settings.BASE_DIR / "var" / "perfmon")
    return merged


def budget_ms(route: str) -> float:
    budgets = perfmon_settings()["BUDGETS"]
    return float(budgets.get(route, budgets.get("default", 200)))


def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "PERFMON":
        perfmon_settings.cache_clear()


setting_changed.connect(_reset)
