"""Query-string filters for the provider list."""

from __future__ import annotations

from enterprise.filters import ObjectIdFilter, SearchFilterSet, StrictChoiceFilter
from providers.models import Provider, ProviderStatus


class ProviderFilterSet(SearchFilterSet):
    organizationId = ObjectIdFilter(field_name="organization_id")
    status = StrictChoiceFilter(choices=ProviderStatus.choices)

    search_fields = ("first_name", "last_name", "email")

    class Meta:
        model = Provider
        fields: list[str] = []
