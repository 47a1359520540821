"""Cache flushes only: a saved or deleted clinic bumps its organization's clinic generations.

The provider-clinics view embeds clinics, so it is invalidated too; the
organization summary only when the save can change a count (``counts``: a
create, or an update of ``Clinic.COUNTED_FIELDS``; see their ``CachePolicy``).
"""

from __future__ import annotations

from typing import Any

from clinics.models import Clinic
from enterprise.cache.invalidation import bump_resources, changes_counts


def flush_clinic_on_write(sender: type[Clinic], instance: Clinic, **kwargs: Any) -> None:
    bump_resources(
        organization_ids=[instance.organization_id],
        resources=("clinics",),
        object_ids=instance.cache_object_ids(),
        counts=changes_counts(sender, kwargs.get("update_fields")),
    )
