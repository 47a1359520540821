"""Reads of clinics, narrowed to the caller's scope before any filter."""

from __future__ import annotations

from django.db.models import QuerySet

from clinics.models import Clinic
from enterprise.tenancy import Scope


def clinic_list(*, scope: Scope) -> QuerySet[Clinic]:
    """Every clinic the scope may see, newest first."""
    return Clinic.objects.for_scope(scope).newest_first()
