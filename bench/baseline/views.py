"""Tutorial-style viewsets: correct and tenant-safe, with none of the service's optimisations."""

from __future__ import annotations

from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from assignments.filters import AssignmentFilterSet
from assignments.models import ProviderClinicAssignment
from assignments.serializers import AssignmentSerializer
from clinics.filters import ClinicFilterSet
from clinics.models import Clinic
from clinics.serializers import ClinicSerializer
from enterprise.api.serializers import TimestampField
from organizations.filters import OrganizationFilterSet
from organizations.models import Organization
from organizations.serializers import OrganizationSerializer
from providers.filters import ProviderFilterSet
from providers.models import Provider
from providers.serializers import ProviderSerializer


class TenantModelViewSet(viewsets.ModelViewSet):
    def get_queryset(self):
        queryset = self.queryset.all()
        scope = self.request.user.scope
        return (
            queryset
            if scope.is_platform
            else queryset.filter(**{self.tenant_field: scope.organization_id})
        )


class OrganizationViewSet(TenantModelViewSet):
    queryset = Organization.objects.order_by("-created_at")
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilterSet
    tenant_field = "id"

    @action(detail=True)
    def summary(self, request, pk=None):
        org = self.get_object()
        clinics = {
            s: Clinic.objects.filter(organization=org, status=s).count()
            for s in ("active", "inactive", "archived")
        }
        by_role = {}
        for role in ("dentist", "hygienist", "assistant", "front_desk", "manager"):
            n = ProviderClinicAssignment.objects.filter(
                organization=org, is_active=True, role=role
            ).count()
            if n:
                by_role[role] = n
        return Response(
            {
                "organizationId": org.pk,
                "clinics": {**clinics, "total": sum(clinics.values())},
                "activeProviders": Provider.objects.filter(
                    organization=org, status="active"
                ).count(),
                "activeAssignments": {"byRole": by_role, "total": sum(by_role.values())},
            }
        )


class ClinicViewSet(TenantModelViewSet):
    queryset = Clinic.objects.order_by("-created_at")
    serializer_class = ClinicSerializer
    filterset_class = ClinicFilterSet
    tenant_field = "organization_id"


class ProviderViewSet(TenantModelViewSet):
    queryset = Provider.objects.order_by("-created_at")
    serializer_class = ProviderSerializer
    filterset_class = ProviderFilterSet
    tenant_field = "organization_id"


class AssignmentViewSet(TenantModelViewSet):
    queryset = ProviderClinicAssignment.objects.order_by("-created_at")
    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilterSet
    tenant_field = "organization_id"

    def _related(self, assignments, attribute: str, serializer):
        page = self.paginate_queryset(assignments)
        rows = []
        for assignment in page:  # one query per row: the N+1 a tutorial ships
            related = getattr(assignment, attribute)
            rows.append(
                {
                    "assignmentId": assignment.pk,
                    "role": assignment.role,
                    "isPrimary": assignment.is_primary,
                    "assignedAt": TimestampField().to_representation(assignment.assigned_at),
                    attribute: serializer(related).data,
                }
            )
        return self.get_paginated_response(rows)

    @action(detail=False, url_path=r"provider/(?P<provider_id>[0-9a-f]{24})/clinics")
    def provider_clinics(self, request, provider_id=None):
        get_queryset = (
            self.get_queryset()
            .filter(provider_id=provider_id, is_active=True)
            .order_by("-assigned_at")
        )
        return self._related(get_queryset, "clinic", ClinicSerializer)

    @action(detail=False, url_path=r"clinic/(?P<clinic_id>[0-9a-f]{24})/staff")
    def clinic_staff(self, request, clinic_id=None):
        get_queryset = (
            self.get_queryset().filter(clinic_id=clinic_id, is_active=True).order_by("-assigned_at")
        )
        return self._related(get_queryset, "provider", ProviderSerializer)
