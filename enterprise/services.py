"""Helpers every app's services share: applying validated data and mapping integrity errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models

from enterprise.errors import ConflictError, PreconditionFailedError
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


def next_version(previous: datetime | None) -> datetime:
    """A new ``updated_at``: now, but always after the previous one (ETags and ``If-Match`` rely on it)."""
    now = now_ms()
    if previous is not None and now <= previous:
        return previous + timedelta(milliseconds=1)
    return now


def save_or_conflict(
    instance: M,
    *,
    update_fields: list[str] | None = None,
    explain_conflict: Callable[[M], ConflictError],
    expected_updated_at: datetime | None = None,
) -> M:
    """Save with one statement; a unique-index violation becomes the caller's ``ConflictError``.

    The database decides uniqueness (two racing requests: one wins, the other
    gets 409); ``explain_conflict`` only runs on the failure path to name the
    field, and must not query: on PostgreSQL the violation has aborted the
    caller's transaction, which rolls back with the error. There is no
    savepoint around the statement, on purpose: a conflict ends the write, so
    there is nothing to return to, and a savepoint costs two round trips
    (``SAVEPOINT``, ``RELEASE``) on every write. With ``expected_updated_at``
    (an ``If-Match`` write) the update is applied only if the row still has
    that version, atomically in the database (``UPDATE ... WHERE updated_at =
    ...``, no transaction needed on MongoDB); otherwise ``PreconditionFailedError``,
    nothing changes, and the transaction stays usable (the 412 names the
    current version).
    """
    if update_fields is not None:
        if not update_fields and expected_updated_at is None:
            return instance
        instance.updated_at = next_version(expected_updated_at or instance.updated_at)
        update_fields = [*update_fields, "updated_at"]
    try:
        if expected_updated_at is not None and update_fields is not None:
            values = {name: getattr(instance, name) for name in update_fields}
            updated = type(instance).objects.update_version(
                instance, expected_updated_at=expected_updated_at, **values
            )
        else:
            instance.save(
                update_fields=update_fields,
                force_insert=update_fields is None and instance._state.adding,
            )
            updated = True
    except IntegrityError:
        raise explain_conflict(instance) from None
    if not updated:
        raise PreconditionFailedError
    return instance
