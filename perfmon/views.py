"""``/api/v1/performance/...``: the monitoring endpoints operators call."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from perfmon.health import health

_HEALTH = inline_serializer(
    "Health",
    fields={
        "status": serializers.ChoiceField(choices=["ok", "degraded", "unavailable"]),
        "checks": inline_serializer(
            "HealthChecks",
            fields={
                "database": serializers.ChoiceField(choices=["ok", "down"]),
                "cache": serializers.ChoiceField(choices=["ok", "down", "local"]),
            },
        ),
        "version": serializers.CharField(),
    },
)


class HealthView(APIView):
    """Liveness and readiness for load balancers and orchestrators: no authentication, no internals."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: _HEALTH, 503: _HEALTH}, auth=[])
    def get(self, request: Request) -> Response:
        status, body = health()
        response = Response(body, status=status)
        response["Cache-Control"] = "no-store"
        return response
