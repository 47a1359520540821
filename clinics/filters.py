"""Query-string filters for the clinic list."""

from __future__ import annotations

from clinics.models import Clinic, ClinicStatus
from enterprise.filters import ObjectIdFilter, SearchFilterSet, StrictChoiceFilter


class ClinicFilterSet(SearchFilterSet):
    organizationId = ObjectIdFilter(field_name="organization_id")
    status = StrictChoiceFilter(choices=ClinicStatus.choices)

    search_fields = ("name", "code")

    class Meta:
        model = Clinic
        fields: list[str] = []
