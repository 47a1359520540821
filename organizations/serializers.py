"""Organization shapes on the wire (camelCase)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from enterprise.api.serializers import (
    AddressSerializer,
    CamelModelSerializer,
    StrictCharField,
)
from enterprise.validators import validate_phone, validate_timezone
from organizations.models import Organization


class OrganizationSerializer(CamelModelSerializer):
    address = AddressSerializer(source="*", required=False)
    phone = StrictCharField(
        max_length=32, allow_blank=True, required=False, validators=[validate_phone]
    )
    timezone = StrictCharField(max_length=64, required=False, validators=[validate_timezone])

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "slug",
            "status",
            "subscription_tier",
            "contact_email",
            "phone",
            "address",
            "timezone",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class ClinicCountsSerializer(serializers.Serializer):
    active = serializers.IntegerField()
    inactive = serializers.IntegerField()
    archived = serializers.IntegerField()
    total = serializers.IntegerField()


class ActiveAssignmentsSerializer(serializers.Serializer):
    byRole = serializers.DictField(child=serializers.IntegerField())
    total = serializers.IntegerField()


class OrganizationSummarySerializer(serializers.Serializer):
    """``GET /organizations/{id}/summary``."""

    organizationId = serializers.CharField(source="organization_id")
    clinics = serializers.SerializerMethodField()
    activeProviders = serializers.IntegerField(source="active_providers")
    activeAssignments = serializers.SerializerMethodField()

    @extend_schema_field(ClinicCountsSerializer)
    def get_clinics(self, summary: dict) -> dict[str, int]:
        return {**summary["clinics_by_status"], "total": summary["clinics_total"]}

    @extend_schema_field(ActiveAssignmentsSerializer)
    def get_activeAssignments(self, summary: dict) -> dict[str, object]:
        return {
            "byRole": summary["active_assignments_by_role"],
            "total": summary["active_assignments_total"],
        }
