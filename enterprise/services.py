"""Helpers every app's services share: applying validated data and mapping integrity errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from enterprise.errors import ConflictError
from enterprise.fields import now_ms

M = TypeVar("M", bound=models.Model)


def apply_changes(instance: M, data: Mapping[str, Any], *, allowed: Iterable[str]) -> list[str]:
    """Set the allowed fields present in ``data``; return the names that changed value.

    Anything not in ``allowed`` (ids, timestamps, tenant links) is ignored:
    read-only fields sent in a body are never stored.
    """
    changed = []
    for name in allowed:
        if name in data and getattr(instance, name) != data[name]:
            setattr(instance, name, data[name])
            changed.append(name)
    return changed


def full_clean_or_raise(instance: models.Model, *, exclude: Iterable[str] = ()) -> None:
    """Model validation (choices, validators, max lengths) with camelCase field names in the error."""
    from enterprise.api.serializers import camel_case

    try:
        instance.full_clean(
            exclude=list(exclude), validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        raise ValidationError({camel_case(k): v for k, v in exc.message_dict.items()}) from None


def save_or_conflict(
    instance: M,
    *,
    update_fields: list[str] | None = None,
    explain_conflict: Callable[[M], ConflictError],
) -> M:
    """Save in a savepoint; a unique-index violation becomes the ``ConflictError`` the caller explains.

    The database decides uniqueness (two racing requests: one wins, the other
    gets 409); ``explain_conflict`` only runs on the failure path to name the field.
    """
    if update_fields is not None:
        if not update_fields:
            return instance
        instance.updated_at = now_ms()
        update_fields = [*update_fields, "updated_at"]
    try:
        with transaction.atomic():
            instance.save(
                update_fields=update_fields,
                force_insert=update_fields is None and instance._state.adding,
            )
    except IntegrityError:
        raise explain_conflict(instance) from None
    return instance
