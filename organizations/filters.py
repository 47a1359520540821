"""Query-string filters for the organization list."""

from __future__ import annotations

import django_filters

from enterprise.filters import SearchFilterSet
from organizations.models import Organization, OrganizationStatus, SubscriptionTier


class OrganizationFilterSet(SearchFilterSet):
    status = django_filters.ChoiceFilter(choices=OrganizationStatus.choices)
    subscriptionTier = django_filters.ChoiceFilter(
        field_name="subscription_tier", choices=SubscriptionTier.choices
    )

    search_fields = ("name",)

    class Meta:
        model = Organization
        fields: list[str] = []
