"""Cache flushes only: a saved or deleted clinic bumps its organization's clinic generations.

The summary and the provider-clinics view depend on the clinic generation, so
they are invalidated too (see their ``CachePolicy``).
"""

from __future__ import annotations

from typing import Any

from clinics.models import Clinic
from enterprise.cache.invalidation import bump_resources


def flush_clinic_on_write(sender: type[Clinic], instance: Clinic, **kwargs: Any) -> None:
    bump_resources(
        organization_ids=[instance.organization_id],
        resources=("clinics",),
        object_ids=[instance.pk],
    )
