"""Query-string filters for the assignment list."""

from __future__ import annotations

from assignments.models import AssignmentRole, ProviderClinicAssignment
from enterprise.filters import FilterSet, ObjectIdFilter, StrictBooleanFilter, StrictChoiceFilter


class AssignmentFilterSet(FilterSet):
    providerId = ObjectIdFilter(field_name="provider_id")
    clinicId = ObjectIdFilter(field_name="clinic_id")
    organizationId = ObjectIdFilter(field_name="organization_id")
    isActive = StrictBooleanFilter(field_name="is_active")
    role = StrictChoiceFilter(choices=AssignmentRole.choices)

    class Meta:
        model = ProviderClinicAssignment
        fields: list[str] = []
