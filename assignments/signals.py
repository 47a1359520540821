"""Cache flushes only: a saved or deleted assignment bumps its organization's assignment generations.

Both sides' views (provider-clinics and clinic-staff) depend on that generation.
"""

from __future__ import annotations

from typing import Any

from assignments.models import ProviderClinicAssignment
from enterprise.cache.invalidation import bump_resources, changes_counts


def flush_assignment_on_write(
    sender: type[ProviderClinicAssignment], instance: ProviderClinicAssignment, **kwargs: Any
) -> None:
    bump_resources(
        organization_ids=[instance.organization_id],
        resources=("assignments",),
        object_ids=[instance.pk],
        counts=changes_counts(sender, kwargs.get("update_fields")),
    )
