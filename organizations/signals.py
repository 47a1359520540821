"""Cache flushes only: a saved or deleted organization bumps its generations."""

from __future__ import annotations

from enterprise.cache.invalidation import connect_write_flushes
from organizations.models import Organization


def connect() -> None:
    """Called from the app's ``ready()``: saves and deletes run ``flush_on_write``."""
    connect_write_flushes(Organization)
