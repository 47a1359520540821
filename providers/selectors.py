"""Reads of providers, narrowed to the caller's scope before any filter."""

from __future__ import annotations

from django.db.models import QuerySet

from enterprise.tenancy import Scope
from providers.models import Provider


def provider_list(*, scope: Scope) -> QuerySet[Provider]:
    """Every provider the scope may see, newest first."""
    return Provider.objects.for_scope(scope).newest_first()
