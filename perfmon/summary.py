"""Reading the counters back: per-route percentiles, budget compliance, and the dashboard's series."""

from __future__ import annotations

import time
from typing import Any

from perfmon.conf import budget_ms, perfmon_settings
from perfmon.histogram import percentiles
from perfmon.recorder import SEPARATOR, current_slot
from perfmon.sinks import Counts, Sink, merge_into


def _window_slots(seconds: int, now: float | None = None) -> list[str]:
    slot_seconds = perfmon_settings()["SLOT_SECONDS"]
    last = current_slot(now)
    count = max(1, -(-seconds // slot_seconds))
    return [str(slot) for slot in range(last - count + 1, last + 1)]


def _by_series(counts: Counts) -> dict[str, dict[str, int]]:
    """Merge the given slots and split ``"METHOD route\\x1ffield"`` into series -> field -> n."""
    merged: dict[str, int] = {}
    for fields in counts.values():
        merge_into(merged, fields)
    series: dict[str, dict[str, int]] = {}
    for key, n in merged.items():
        name, _, field = key.partition(SEPARATOR)
        series.setdefault(name, {})[field] = n
    return series


def _buckets(fields: dict[str, int]) -> dict[int, int]:
    return {int(k[2:]): n for k, n in fields.items() if k.startswith("b:")}


def _stats(fields: dict[str, int], seconds: float | None) -> dict[str, Any]:
    n = fields.get("n", 0)
    p50, p95, p99 = percentiles(_buckets(fields), (0.5, 0.95, 0.99))
    lookups = fields.get("hit", 0) + fields.get("miss", 0) + fields.get("stale", 0)
    return {
        "requests": n,
        "requestsPerSecond": round(n / seconds, 2) if seconds else None,
        "errors5xx": fields.get("e5", 0),
        "errors4xx": fields.get("e4", 0),
        "p50Ms": p50,
        "p95Ms": p95,
        "p99Ms": p99,
        "meanMs": round(fields.get("us", 0) / n / 1000, 3) if n else None,
        "dbRoundTripsPerRequest": round(fields.get("dbn", 0) / n, 2) if n else None,
        "dbMsPerRequest": round(fields.get("dbus", 0) / n / 1000, 3) if n else None,
        "cacheHits": fields.get("hit", 0),
        "cacheMisses": fields.get("miss", 0),
        "cacheStale": fields.get("stale", 0),
        "cacheHitRate": round((lookups - fields.get("miss", 0)) / lookups, 4) if lookups else None,
        "bytesPerRequest": round(fields.get("bytes", 0) / n) if n else None,
        "slowRequests": fields.get("slow", 0),
    }


def _routes(series: dict[str, dict[str, int]], seconds: float | None) -> list[dict[str, Any]]:
    routes = []
    for name, fields in sorted(series.items(), key=lambda item: item[0].split(" ", 1)[::-1]):
        method, _, route = name.partition(" ")
        stats = _stats(fields, seconds)
        budget = budget_ms(route)
        routes.append(
            {
                "route": route,
                "method": method,
                **stats,
                "budgetP95Ms": budget,
                "overBudget": stats["p95Ms"] is not None and stats["p95Ms"] > budget,
            }
        )
    return routes


def _overall(series: dict[str, dict[str, int]], seconds: float | None) -> dict[str, Any]:
    merged: dict[str, int] = {}
    for fields in series.values():
        merge_into(merged, fields)
    return _stats(merged, seconds)


def metrics_summary(sink: Sink, *, window_seconds: int | None = None) -> dict[str, Any]:
    """Per-route figures over the rolling window and since the counters were last reset."""
    window = int(window_seconds or perfmon_settings()["WINDOW_SECONDS"])
    slots = _window_slots(window)
    counts = sink.read([*slots, "total"])
    since_start = _by_series({"total": counts.pop("total", {})})
    in_window = _by_series(counts)
    routes = _routes(in_window, window)
    return {
        "generatedAt": round(time.time(), 3),
        "sink": sink.name,
        "window": {"seconds": window, "overall": _overall(in_window, window), "routes": routes},
        "sinceStart": {
            "overall": _overall(since_start, None),
            "routes": _routes(since_start, None),
        },
        "overBudget": [f"{r['method']} {r['route']}" for r in routes if r["overBudget"]],
    }


def summary_line(sink: Sink, *, seconds: int) -> dict[str, Any]:
    """The periodic log line: overall figures for the last ``seconds`` and the routes over budget."""
    series = _by_series(sink.read(_window_slots(seconds)))
    overall = _overall(series, seconds)
    over = [f"{r['method']} {r['route']}" for r in _routes(series, seconds) if r["overBudget"]]
    return {
        "seconds": seconds,
        "requests": overall["requests"],
        "rps": overall["requestsPerSecond"],
        "p50_ms": overall["p50Ms"],
        "p95_ms": overall["p95Ms"],
        "p99_ms": overall["p99Ms"],
        "errors_5xx": overall["errors5xx"],
        "over_budget": over,
    }


def timeline(sink: Sink, *, minutes: int = 60) -> list[dict[str, Any]]:
    """Requests per second and P95 for each minute of the last ``minutes`` (all routes)."""
    slot_seconds = perfmon_settings()["SLOT_SECONDS"]
    per_minute = max(1, 60 // slot_seconds)
    slots = _window_slots(minutes * 60)
    counts = sink.read(slots)
    points = []
    for start in range(0, len(slots), per_minute):
        group = slots[start : start + per_minute]
        merged: dict[str, int] = {}
        for slot in group:
            for key, n in counts.get(slot, {}).items():
                field = key.partition(SEPARATOR)[2]
                merged[field] = merged.get(field, 0) + n
        p95 = percentiles(_buckets(merged), (0.95,))[0]
        points.append(
            {
                "at": int(group[0]) * slot_seconds,
                "requestsPerSecond": round(merged.get("n", 0) / (len(group) * slot_seconds), 2),
                "p95Ms": p95,
            }
        )
    return points
