"""Cache flushes only: a saved or deleted assignment bumps its organization's assignment generations.

It also bumps its provider's and its clinic's "assignments of" generations
(``cache_object_ids``), which the provider-clinics and clinic-staff views are
keyed on: a write under one provider leaves every other provider's view cached.
"""

from __future__ import annotations

from typing import Any

from assignments.models import ProviderClinicAssignment


def flush_assignment_on_write(
    sender: type[ProviderClinicAssignment], instance: ProviderClinicAssignment, **kwargs: Any
) -> None:
    sender.objects.bump_written(instance, fields=kwargs.get("update_fields"))
