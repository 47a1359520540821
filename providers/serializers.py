"""Provider shapes on the wire (camelCase)."""

from __future__ import annotations

from enterprise.api.serializers import CamelModelSerializer, ObjectIdSerializerField
from providers.models import Provider


class ProviderSerializer(CamelModelSerializer):
    organizationId = ObjectIdSerializerField(source="organization_id", required=False)

    class Meta:
        model = Provider
        fields = [
            "id",
            "organizationId",
            "first_name",
            "last_name",
            "email",
            "npi",
            "specialty",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
