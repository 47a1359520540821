"""Cache flushes only: a saved or deleted provider bumps its organization's provider generations."""

from __future__ import annotations

from enterprise.cache.invalidation import connect_write_flushes
from providers.models import Provider


def connect() -> None:
    """Called from the app's ``ready()``: saves and deletes run ``flush_on_write``."""
    connect_write_flushes(Provider)
