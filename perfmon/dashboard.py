"""The performance page inside the Django admin (``/admin/performance/``), rendered on the server.

Staff see per-route P50/P95/P99 against budget, request rate and P95 per
minute over the last hour (an inline SVG: no script, no CDN), cache hit rate
per resource, recent slow operations and the circuit breakers. Only
superusers may reset or force open a breaker; each action is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from enterprise.resilience.breakers import all_breakers, breaker
from perfmon.audit import breaker_action
from perfmon.recorder import get_recorder
from perfmon.stats import cache_stats
from perfmon.summary import metrics_summary, timeline

CHART_WIDTH, CHART_HEIGHT = 720, 160


def _polyline(values: list[float | None], top: float) -> str:
    """SVG ``points`` for values scaled into the chart (gaps drawn at zero)."""
    if not values:
        return ""
    step = CHART_WIDTH / max(1, len(values) - 1)
    scale = CHART_HEIGHT / top if top else 0
    return " ".join(
        f"{i * step:.1f},{CHART_HEIGHT - (value or 0) * scale:.1f}"
        for i, value in enumerate(values)
    )


def chart(points: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [p["requestsPerSecond"] for p in points]
    p95s = [p["p95Ms"] for p in points]
    top_rate = max([r for r in rates if r] or [1])
    top_p95 = max([v for v in p95s if v] or [1])
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "rate_points": _polyline(rates, top_rate),
        "p95_points": _polyline(p95s, top_p95),
        "top_rate": round(top_rate, 1),
        "top_p95": round(top_p95, 1),
    }


@require_http_methods(["GET", "POST"])
def performance_dashboard(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _breaker_post(request)
    recorder = get_recorder()
    recorder.flush()
    summary = metrics_summary(recorder.sink)
    context = {
        **admin.site.each_context(request),
        "title": "Performance",
        "summary": summary,
        "routes": summary["window"]["routes"],
        "chart": chart(timeline(recorder.sink, minutes=60)),
        "cache": cache_stats(),
        "slow": recorder.sink.slow_samples(20),
        "breakers": [b.describe() for b in all_breakers()],
        "can_operate": request.user.is_superuser,
    }
    return TemplateResponse(request, "admin/perfmon/dashboard.html", context)


def _breaker_post(request: HttpRequest) -> HttpResponse:
    if not request.user.is_superuser:
        raise PermissionDenied
    name, action = request.POST.get("breaker", ""), request.POST.get("action", "")
    if name not in {b.name for b in all_breakers()} or action not in {"reset", "force-open"}:
        messages.error(request, "Unknown breaker or action.")
    else:
        breaker_action(breaker(name), action, actor=request.user.get_username(), source="admin")
        messages.success(request, f"Circuit breaker {name}: {action} done.")
    return HttpResponseRedirect(reverse("performance-dashboard"))
