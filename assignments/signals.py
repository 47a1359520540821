"""Cache flushes only: a saved or deleted assignment bumps its organization's assignment generations.

It also bumps its provider's and its clinic's "assignments of" generations
(``cache_object_ids``), which the provider-clinics and clinic-staff views are
keyed on: a write under one provider leaves every other provider's view cached.
"""

from __future__ import annotations

from assignments.models import ProviderClinicAssignment
from enterprise.cache.invalidation import connect_write_flushes


def connect() -> None:
    """Called from the app's ``ready()``: saves and deletes run ``flush_on_write``."""
    connect_write_flushes(ProviderClinicAssignment)
