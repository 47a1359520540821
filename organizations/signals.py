"""Cache flushes only: a saved or deleted organization bumps its generations."""

from __future__ import annotations

from typing import Any

from enterprise.cache.invalidation import bump_resources, changes_counts
from organizations.models import Organization


def flush_organization_on_write(
    sender: type[Organization], instance: Organization, **kwargs: Any
) -> None:
    bump_resources(
        organization_ids=[instance.pk],
        resources=("organizations",),
        object_ids=instance.cache_object_ids(),
        counts=changes_counts(sender, kwargs.get("update_fields")),
    )
