"""``/api/v1/performance/...``: the monitoring endpoints operators call.

``health`` is public (load balancers); everything else needs a platform
admin's token. Nothing here is cached, and every answer says ``no-store``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enterprise.api.query_params import KnownQueryParamsMixin
from enterprise.cache.keys import RESOURCES
from enterprise.cache.operations import clear_response_cache
from enterprise.fields import is_object_id
from enterprise.resilience.breakers import all_breakers, breaker
from perfmon.audit import breaker_action, operator_action_record
from perfmon.conf import perfmon_settings
from perfmon.health import health
from perfmon.models import OperatorAction
from perfmon.recorder import get_recorder
from perfmon.stats import cache_stats
from perfmon.summary import metrics_summary

_HEALTH = inline_serializer(
    "Health",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "degraded", "unavailable"]),
        "checks": inline_serializer(
            "HealthChecks",
            fields={
                "database": serializers.ChoiceField(choices=["ok", "down"]),
                "cache": serializers.ChoiceField(choices=["ok", "down", "local"]),
                "breakers": serializers.DictField(
                    child=serializers.ChoiceField(choices=["closed", "open", "half_open"])
                ),
            },
        ),
        "version": serializers.CharField(),
    },
)
_ANY_OBJECT = inline_serializer("MonitoringReport", fields={})


class IsPlatformAdmin(BasePermission):
    message = "Only platform administrators may use the monitoring API."

    def has_permission(self, request: Request, view: Any) -> bool:
        scope = getattr(request.user, "scope", None)
        return scope is not None and scope.is_platform


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


class HealthView(KnownQueryParamsMixin, APIView):
    """Liveness and readiness for load balancers and orchestrators: no authentication, no internals."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: _HEALTH, 503: _HEALTH}, auth=[])
    def get(self, request: Request) -> Response:
        status, body = health()
        return _no_store(Response(body, status=status))


class MonitoringView(KnownQueryParamsMixin, APIView):
    permission_classes = [IsPlatformAdmin]


class CacheStatsView(MonitoringView):
    """Response-cache hit rate per resource and overall, keys and memory."""

    @extend_schema(responses={200: _ANY_OBJECT})
    def get(self, request: Request) -> Response:
        return _no_store(Response(cache_stats()))


class _WindowQuery(serializers.Serializer):
    window = serializers.IntegerField(required=False, min_value=10)

    def validate_window(self, value: int) -> int:
        limit = perfmon_settings()["HISTORY_SECONDS"]
        if value > limit:
            raise serializers.ValidationError(
                f"Ensure this value is less than or equal to {limit}."
            )
        return value


class MetricsSummaryView(MonitoringView):
    """P50/P95/P99, errors, round trips and cache outcomes per route, over a window and since start."""

    query_params = ("window",)

    @extend_schema(
        parameters=[
            OpenApiParameter("window", int, description="Window in seconds (default 60, max 3600).")
        ],
        responses={200: _ANY_OBJECT},
    )
    def get(self, request: Request) -> Response:
        query = _WindowQuery(
            data=request.query_params.dict()
        )  # a plain dict: `?window=` is a 400, not the default
        query.is_valid(raise_exception=True)
        recorder = get_recorder()
        recorder.flush()  # this worker's last second; the others publish on their own
        summary = metrics_summary(recorder.sink, window_seconds=query.validated_data.get("window"))
        return _no_store(Response(summary))


class CacheClearRequest(serializers.Serializer):
    all = serializers.BooleanField(default=False, help_text="Invalidate every cached response.")
    resources = serializers.ListField(
        child=serializers.ChoiceField(choices=RESOURCES), required=False, allow_empty=False
    )
    organizationIds = serializers.ListField(  # noqa: N815 - the API's camelCase
        child=serializers.CharField(), required=False, allow_empty=False, max_length=100
    )
    dryRun = serializers.BooleanField(default=False)  # noqa: N815

    def validate_organizationIds(self, value: list[str]) -> list[str]:  # noqa: N802
        bad = [v for v in value if not is_object_id(v)]
        if bad:
            raise serializers.ValidationError(f"Not 24-hex organization ids: {', '.join(bad[:5])}.")
        return [v.lower() for v in value]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs["all"] or attrs.get("resources") or attrs.get("organizationIds")):
            raise serializers.ValidationError(
                "Say what to clear: all, resources and/or organizationIds."
            )
        return attrs


class CacheClearView(MonitoringView):
    """Invalidate cached responses (like ``manage.py clear_cache``); audited as an operator action."""

    @extend_schema(request=CacheClearRequest, responses={200: _ANY_OBJECT})
    def post(self, request: Request) -> Response:
        body = CacheClearRequest(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = clear_response_cache(
            everything=data["all"],
            resources=tuple(data.get("resources") or RESOURCES),
            organization_ids=tuple(data.get("organizationIds") or ()),
            dry_run=data["dryRun"],
        )
        if not data["dryRun"]:
            operator_action_record(
                actor=request.user.scope.subject,
                source="api",
                action=OperatorAction.Action.CACHE_CLEAR,
                target="all" if data["all"] else ",".join(data.get("resources") or RESOURCES),
                detail={"organizationIds": data.get("organizationIds") or [], "keys": result.keys},
            )
        return _no_store(
            Response(
                {
                    "store": result.store,
                    "dryRun": data["dryRun"],
                    "bumpedKeys": result.keys,
                    "applied": result.ok and not data["dryRun"],
                    "queued": not result.ok,
                }
            )
        )


class CircuitBreakersView(MonitoringView):
    """Every circuit breaker: state, since when, where its state lives, its thresholds."""

    @extend_schema(responses={200: _ANY_OBJECT})
    def get(self, request: Request) -> Response:
        return _no_store(Response({"breakers": [b.describe() for b in all_breakers()]}))


class CircuitBreakerActionView(MonitoringView):
    """``POST .../circuit-breakers/{name}/reset`` or ``/force-open``; audited as an operator action."""

    ACTIONS = frozenset({"reset", "force-open"})  # see perfmon.audit.breaker_action

    @extend_schema(request=None, responses={200: _ANY_OBJECT})
    def post(self, request: Request, name: str, action: str) -> Response:
        if name not in settings.RESILIENCE["BREAKERS"] or action not in self.ACTIONS:
            raise NotFound()
        target = breaker(name)
        breaker_action(target, action, actor=request.user.scope.subject, source="api")
        return _no_store(Response(target.describe()))
