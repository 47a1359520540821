"""Cache flushes only: a saved or deleted clinic bumps its organization's clinic generations.

The provider-clinics view embeds clinics, so it is invalidated too; the
organization summary only when the save can change a count (``counts``: a
create, or an update of ``Clinic.COUNTED_FIELDS``; see their ``CachePolicy``).
"""

from __future__ import annotations

from typing import Any

from clinics.models import Clinic


def flush_clinic_on_write(sender: type[Clinic], instance: Clinic, **kwargs: Any) -> None:
    sender.objects.bump_written(instance, fields=kwargs.get("update_fields"))
