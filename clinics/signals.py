"""Cache flushes only: a saved or deleted clinic bumps its organization's clinic generations.

The provider-clinics view embeds clinics, so it is invalidated too; the
organization summary only when the save can change a count (``counts``: a
create, or an update of ``Clinic.COUNTED_FIELDS``; see their ``CachePolicy``).
"""

from __future__ import annotations

from clinics.models import Clinic
from enterprise.cache.invalidation import connect_write_flushes


def connect() -> None:
    """Called from the app's ``ready()``: saves and deletes run ``flush_on_write``."""
    connect_write_flushes(Clinic)
