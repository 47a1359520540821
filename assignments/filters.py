"""Query-string filters for the assignment list."""

from __future__ import annotations

import django_filters

from assignments.models import AssignmentRole, ProviderClinicAssignment
from enterprise.filters import ObjectIdFilter


class AssignmentFilterSet(django_filters.FilterSet):
    providerId = ObjectIdFilter(field_name="provider_id")  # noqa: N815
    clinicId = ObjectIdFilter(field_name="clinic_id")  # noqa: N815
    organizationId = ObjectIdFilter(field_name="organization_id")  # noqa: N815
    isActive = django_filters.BooleanFilter(field_name="is_active")  # noqa: N815
    role = django_filters.ChoiceFilter(choices=AssignmentRole.choices)

    class Meta:
        model = ProviderClinicAssignment
        fields: list[str] = []
