"""Clinic shapes on the wire (camelCase)."""

from __future__ import annotations

from clinics.models import Clinic
from enterprise.api.serializers import (
    AddressSerializer,
    CamelModelSerializer,
    ObjectIdSerializerField,
    StrictCharField,
    StrictRegexField,
)
from enterprise.validators import validate_phone, validate_timezone


class ClinicSerializer(CamelModelSerializer):
    organizationId = ObjectIdSerializerField(source="organization_id", required=False)
    address = AddressSerializer(source="*", required=False)
    phone = StrictCharField(
        max_length=32, allow_blank=True, required=False, validators=[validate_phone]
    )
    timezone = StrictCharField(max_length=64, required=False, validators=[validate_timezone])
    code = StrictRegexField(
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
