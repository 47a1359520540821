"""Cache flushes only: a saved or deleted provider bumps its organization's provider generations."""

from __future__ import annotations

from typing import Any

from providers.models import Provider


def flush_provider_on_write(sender: type[Provider], instance: Provider, **kwargs: Any) -> None:
    sender.objects.bump_written(instance, fields=kwargs.get("update_fields"))
