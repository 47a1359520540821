"""``/api/v1/assignments`` and the provider-clinics / clinic-staff routes existing clients call."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from assignments import selectors, services
from assignments.filters import AssignmentFilterSet
from assignments.serializers import (
    EMBEDDED_ASSIGNMENT_COLUMNS,
    AssignmentSerializer,
    ClinicStaffSerializer,
    ProviderClinicSerializer,
    embedded_rows,
)
from clinics.cache import get_clinics_cached
from enterprise.api.pagination import AssignedAtPagination
from enterprise.api.viewsets import ResourceViewSet
from enterprise.cache.policy import cache_response
from enterprise.fields import OBJECT_ID_PATTERN
from providers.cache import get_providers_cached


class AssignmentViewSet(ResourceViewSet):
    """Who works where. DELETE ends the assignment (``isActive`` false, ``endedAt`` set)."""

    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilterSet
    cache_resource = "assignments"
    detail_ttl = "assignments"
    ordering_fields = {
        "createdAt": "created_at",
        "updatedAt": "updated_at",
        "assignedAt": "assigned_at",
    }

    list_selector = staticmethod(selectors.assignment_list)
    create_service = staticmethod(services.assignment_create)
    update_service = staticmethod(services.assignment_update)
    destroy_service = staticmethod(services.assignment_end)

    @extend_schema(responses=ProviderClinicSerializer(many=True), filters=False)
    @cache_response(
        resource="assignments",
        depends_on=("assignments",),
        embeds=("clinics",),
        ttl="assignments",
        parent="provider_id",
        embedded=("clinic", get_clinics_cached),
    )
    @action(
        detail=False,
        methods=["get"],
        url_path=rf"provider/(?P<provider_id>{OBJECT_ID_PATTERN})/clinics",
        filterset_class=None,
        pagination_class=AssignedAtPagination,
        serializer_class=ProviderClinicSerializer,
    )
    def provider_clinics(self, request: Request, provider_id: str) -> Response:
        """The provider's active clinics, each with the assignment's role."""
        provider_id = provider_id.lower()
        page = self.paginate_queryset(
            selectors.provider_active_assignments(scope=self.scope, provider_id=provider_id).values(
                *EMBEDDED_ASSIGNMENT_COLUMNS, "clinic_id"
            )
        )
        if not page:  # empty: say 404 when the provider or clinic is not the caller's
            selectors.ensure_provider_visible(scope=self.scope, provider_id=provider_id)
        clinics = get_clinics_cached(
            scope=self.scope,
            ids=(row["clinic_id"] for row in page),
            dependencies=self.cache_dependencies,
        )
        return self.get_paginated_response(
            embedded_rows(page, name="clinic", column="clinic_id", objects=clinics)
        )

    @extend_schema(responses=ClinicStaffSerializer(many=True), filters=False)
    @cache_response(
        resource="assignments",
        depends_on=("assignments",),
        embeds=("providers",),
        ttl="assignments",
        parent="clinic_id",
        embedded=("provider", get_providers_cached),
    )
    @action(
        detail=False,
        methods=["get"],
        url_path=rf"clinic/(?P<clinic_id>{OBJECT_ID_PATTERN})/staff",
        filterset_class=None,
        pagination_class=AssignedAtPagination,
        serializer_class=ClinicStaffSerializer,
    )
    def clinic_staff(self, request: Request, clinic_id: str) -> Response:
        """The clinic's active providers, each with the assignment's role."""
        clinic_id = clinic_id.lower()
        page = self.paginate_queryset(
            selectors.clinic_active_assignments(scope=self.scope, clinic_id=clinic_id).values(
                *EMBEDDED_ASSIGNMENT_COLUMNS, "provider_id"
            )
        )
        if not page:  # empty: say 404 when the provider or clinic is not the caller's
            selectors.ensure_clinic_visible(scope=self.scope, clinic_id=clinic_id)
        providers = get_providers_cached(
            scope=self.scope,
            ids=(row["provider_id"] for row in page),
            dependencies=self.cache_dependencies,
        )
        return self.get_paginated_response(
            embedded_rows(page, name="provider", column="provider_id", objects=providers)
        )
