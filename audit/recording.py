"""Recording writes: a snapshot before, a diff after, one ``AuditRecord`` in the write's transaction.

The API's viewsets and the admin call ``record_write`` inside the same
``transaction.atomic()`` as the write, so a write that rolls back leaves no
record and a record never exists without its write (on the SQL backends).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

from audit.models import AuditRecord

Snapshot = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is writing: the token subject (API) or ``staff:<username>`` (admin), and the request."""

    name: str
    source: str
    request_id: str = ""


_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Attribute every write recorded inside the block (cascades in services too) to ``actor``."""
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def current_actor() -> Actor:
    actor = _actor.get()
    if actor is None:
        raise RuntimeError("record_write outside acting_as(): who is writing?")
    return actor


#: Columns that change on every write and say nothing a reader needs.
_SKIPPED = frozenset({"id", "updated_at"})


def snapshot(instance: models.Model | None) -> Snapshot:
    """The audited column values of ``instance`` (``{}`` for none: a create)."""
    if instance is None:
        return {}
    return {
        field.name: getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
        if field.name not in _SKIPPED
    }


def _plain(value: Any) -> Any:
    """A JSON value for the record (every backend stores it as is)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def personal_fields(model: type[models.Model]) -> frozenset[str]:
    return frozenset(getattr(model, "PERSONAL_FIELDS", ()))


def diff(model: type[models.Model], before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """``{field: {"old", "new"}}`` for every changed field; personal ones only flagged."""
    personal = personal_fields(model)
    changes: dict[str, Any] = {}
    for name, new in after.items():
        old = before.get(name)
        if name in before and old == new:
            continue
        if not before and new in (None, ""):
            continue  # a create: empty optional fields are not news
        changes[name] = (
            {"redacted": True} if name in personal else {"old": _plain(old), "new": _plain(new)}
        )
    return changes


def organization_of(instance: models.Model) -> str | None:
    if instance._meta.label_lower == "organizations.organization":
        return instance.pk
    return getattr(instance, "organization_id", None)


def record_write(*, instance: models.Model, before: Snapshot, action: str) -> AuditRecord | None:
    """Insert the record of one applied write (call inside the write's transaction).

    An update or delete that changed nothing (a repeated archive, a PATCH with
    the current values) is not a write and leaves no record; ``None`` then.
    """
    model = type(instance)
    changes = diff(model, before, snapshot(instance))
    if before and not changes:
        return None
    return AuditRecord.objects.create(
        **_attribution(),
        action=action,
        organization_id=organization_of(instance),
        resource=model._meta.app_label,
        object_id=instance.pk,
        changes=changes,
    )


def record_bulk_update(
    *,
    model: type[models.Model],
    object_ids: Iterable[str],
    organization_id: str | None,
    changes: dict[str, tuple[Any, Any]],
) -> None:
    """Records for a set-based update (one per row): ``changes`` maps field to (old, new)."""
    personal = personal_fields(model)
    shown = {
        name: {"redacted": True} if name in personal else {"old": _plain(old), "new": _plain(new)}
        for name, (old, new) in changes.items()
    }
    attribution = _attribution()
    AuditRecord.objects.bulk_create(
        AuditRecord(
            **attribution,
            action=AuditRecord.Action.UPDATE,
            organization_id=organization_id,
            resource=model._meta.app_label,
            object_id=object_id,
            changes=shown,
        )
        for object_id in object_ids
    )


def _attribution() -> dict[str, str]:
    actor = current_actor()
    return {
        "actor": actor.name[:200],
        "source": actor.source,
        "request_id": actor.request_id[:64],
    }
