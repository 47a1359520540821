"""Clinic shapes on the wire (camelCase)."""

from __future__ import annotations

from rest_framework import serializers

from clinics.models import Clinic
from enterprise.api.serializers import AddressSerializer, CamelModelSerializer, ObjectIdSerializerField
from enterprise.validators import validate_phone, validate_timezone


class ClinicSerializer(CamelModelSerializer):
    organizationId = ObjectIdSerializerField(source="organization_id", required=False)  # noqa: N815
    address = AddressSerializer(source="*", required=False)
    phone = serializers.CharField(max_length=32, allow_blank=True, required=False, validators=[validate_phone])
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])
    code = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$",
        max_length=32,
        error_messages={"invalid": "Use 1-32 letters, digits, '-', '_' or '.'."},
    )

    class Meta:
        model = Clinic
        fields = [
            "id",
            "organizationId",
            "name",
            "code",
            "status",
            "address",
            "phone",
            "email",
            "timezone",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
