"""Query-string filters for the assignment list."""

from __future__ import annotations

import django_filters

from assignments.models import AssignmentRole, ProviderClinicAssignment
from enterprise.filters import ObjectIdFilter, StrictBooleanFilter, StrictChoiceFilter


class AssignmentFilterSet(django_filters.FilterSet):
    providerId = ObjectIdFilter(field_name="provider_id")
    clinicId = ObjectIdFilter(field_name="clinic_id")
    organizationId = ObjectIdFilter(field_name="organization_id")
    isActive = StrictBooleanFilter(field_name="is_active")
    role = StrictChoiceFilter(choices=AssignmentRole.choices)

    class Meta:
        model = ProviderClinicAssignment
        fields: list[str] = []
