"""Assignment shapes on the wire (camelCase)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assignments.models import ProviderClinicAssignment
from clinics.serializers import ClinicSerializer
from enterprise.api.serializers import (
    CamelModelSerializer,
    CompiledReader,
    ObjectIdSerializerField,
    StrictBooleanField,
    TimestampField,
)
from providers.serializers import ProviderSerializer


class AssignmentSerializer(CamelModelSerializer):
    providerId = ObjectIdSerializerField(source="provider_id")
    clinicId = ObjectIdSerializerField(source="clinic_id")
    organizationId = serializers.CharField(source="organization_id", read_only=True)
    isActive = StrictBooleanField(source="is_active", required=False)
    assignedAt = TimestampField(source="assigned_at", required=False)

    class Meta:
        model = ProviderClinicAssignment
        fields = [
            "id",
            "providerId",
            "clinicId",
            "organizationId",
            "role",
            "is_primary",
            "isActive",
            "assignedAt",
            "ended_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "ended_at", "created_at", "updated_at"]


class _EmbeddedAssignmentSerializer(serializers.Serializer):
    assignmentId = serializers.CharField(source="id")
    role = serializers.CharField()
    isPrimary = serializers.BooleanField(source="is_primary")
    assignedAt = TimestampField(source="assigned_at")


#: The assignment columns a provider-clinics / clinic-staff row reads (besides the embedded id).
EMBEDDED_ASSIGNMENT_COLUMNS = ("id", "role", "is_primary", "assigned_at")


@functools.cache
def _embedded_assignment_reader() -> CompiledReader:
    serializer = _EmbeddedAssignmentSerializer()
    serializer.fields  # noqa: B018 - build and bind the fields now, once
    return CompiledReader(serializer, frozenset(EMBEDDED_ASSIGNMENT_COLUMNS))


def embedded_rows(
    rows: Iterable[dict[str, Any]], *, name: str, column: str, objects: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows of ``ProviderClinicSerializer`` / ``ClinicStaffSerializer`` (the schema's shapes),
    rendered by one reader built once per process instead of a serializer per request.

    ``rows`` are ``values()`` dicts with ``EMBEDDED_ASSIGNMENT_COLUMNS`` and ``column``;
    each gets its embedded object under ``name``. Rows whose object is not in
    ``objects`` (not visible to the caller) are left out. The output is DRF's, field
    for field and in the same order (pinned by a test).
    """
    reader = _embedded_assignment_reader()
    return [
        {**reader.to_representation(row), name: objects[row[column]]}
        for row in rows
        if row[column] in objects
    ]


class ProviderClinicSerializer(_EmbeddedAssignmentSerializer):
    """One row of ``/assignments/provider/{id}/clinics``: the assignment with its clinic."""

    clinic = serializers.SerializerMethodField()

    @extend_schema_field(ClinicSerializer)
    def get_clinic(self, assignment: ProviderClinicAssignment) -> dict:
        # From the batch the view loaded through the cache-aside getter, never a per-row query.
        return self.context["clinics"][assignment.clinic_id]


class ClinicStaffSerializer(_EmbeddedAssignmentSerializer):
    """One row of ``/assignments/clinic/{id}/staff``: the assignment with its provider."""

    provider = serializers.SerializerMethodField()

    @extend_schema_field(ProviderSerializer)
    def get_provider(self, assignment: ProviderClinicAssignment) -> dict:
        # From the batch the view loaded through the cache-aside getter, never a per-row query.
        return self.context["providers"][assignment.provider_id]
