"""Query-string filters for the organization list."""

from __future__ import annotations

from enterprise.filters import SearchFilterSet, StrictChoiceFilter
from organizations.models import Organization, OrganizationStatus, SubscriptionTier


class OrganizationFilterSet(SearchFilterSet):
    status = StrictChoiceFilter(choices=OrganizationStatus.choices)
    subscriptionTier = StrictChoiceFilter(
        field_name="subscription_tier", choices=SubscriptionTier.choices
    )

    search_fields = ("name",)

    class Meta:
        model = Organization
        fields: list[str] = []
