"""``/api/v1/organizations``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from enterprise.api.viewsets import ResourceViewSet
from enterprise.cache.keys import RESOURCES
from enterprise.cache.policy import cache_response
from organizations import selectors, services
from organizations.filters import OrganizationFilterSet
from organizations.serializers import (
    OrganizationSerializer,
    OrganizationSummarySerializer,
)


class OrganizationViewSet(ResourceViewSet):
    """Dental groups. Platform admins create and archive; org admins edit their own; members read."""

    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilterSet
    cache_resource = "organizations"
    detail_ttl = "organization_detail"
    ordering_fields = {"createdAt": "created_at", "updatedAt": "updated_at", "name": "name"}
    platform_only_actions = ("create", "destroy")
    report_actions = ("summary",)  # the 120 s time budget (enterprise.resilience.budgets)

    list_selector = staticmethod(selectors.organization_list)
    create_service = staticmethod(services.organization_create)
    update_service = staticmethod(services.organization_update)
    destroy_service = staticmethod(services.organization_archive)

    @extend_schema(responses=OrganizationSummarySerializer)
    @cache_response(resource="organizations", depends_on=RESOURCES, ttl="summary", counts_only=True)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def summary(self, request: Request, id: str) -> Response:
        summary = selectors.organization_summary(scope=self.scope, organization_id=id.lower())
        return Response(OrganizationSummarySerializer(summary).data)
