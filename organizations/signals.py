"""Cache flushes only: a saved or deleted organization bumps its generations."""

from __future__ import annotations

from typing import Any

from organizations.models import Organization


def flush_organization_on_write(
    sender: type[Organization], instance: Organization, **kwargs: Any
) -> None:
    sender.objects.bump_written(instance, fields=kwargs.get("update_fields"))
