"""Organization shapes on the wire (camelCase)."""

from __future__ import annotations

from rest_framework import serializers

from enterprise.api.serializers import AddressSerializer, CamelModelSerializer
from enterprise.validators import validate_phone, validate_timezone
from organizations.models import Organization


class OrganizationSerializer(CamelModelSerializer):
    address = AddressSerializer(source="*", required=False)
    phone = serializers.CharField(max_length=32, allow_blank=True, required=False, validators=[validate_phone])
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])

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


class OrganizationSummarySerializer(serializers.Serializer):
    """``GET /organizations/{id}/summary``."""

    organizationId = serializers.CharField(source="organization.id")  # noqa: N815
    clinics = serializers.SerializerMethodField()
    activeProviders = serializers.IntegerField(source="active_providers")  # noqa: N815
    activeAssignments = serializers.SerializerMethodField()  # noqa: N815

    def get_clinics(self, summary: dict) -> dict[str, int]:
        return {**summary["clinics_by_status"], "total": summary["clinics_total"]}

    def get_activeAssignments(self, summary: dict) -> dict[str, object]:  # noqa: N802
        return {"byRole": summary["active_assignments_by_role"], "total": summary["active_assignments_total"]}
