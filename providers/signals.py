"""Cache flushes only: a saved or deleted provider bumps its organization's provider generations."""

from __future__ import annotations

from typing import Any

from enterprise.cache.invalidation import bump_resources, changes_counts
from providers.models import Provider


def flush_provider_on_write(sender: type[Provider], instance: Provider, **kwargs: Any) -> None:
    bump_resources(
        organization_ids=[instance.organization_id],
        resources=("providers",),
        object_ids=instance.cache_object_ids(),
        counts=changes_counts(sender, kwargs.get("update_fields")),
    )
