"""The audit trail of writes to tenant data: one immutable record per applied write."""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models

from enterprise.fields import MillisecondDateTimeField, ObjectIdField, now_ms


class ImmutableRecordError(Exception):
    """Raised on any attempt to change or delete an audit record."""


class AuditRecordQuerySet(models.QuerySet):
    """Reads only: bulk updates and deletes are refused (test database teardown truncates)."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise ImmutableRecordError("audit records cannot be changed")

    def delete(self) -> NoReturn:
        raise ImmutableRecordError("audit records cannot be deleted")


class AuditRecord(models.Model):
    """Who changed which object of which organization, when, and what changed.

    ``changes`` maps each changed field to ``{"old": ..., "new": ...}``; fields
    that hold personal data (the model's ``PERSONAL_FIELDS``, listed in the
    README) are recorded as ``{"redacted": true}``: the trail says *that* they
    changed, never their values.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete (archive or end)"

    class Source(models.TextChoices):
        API = "api", "REST API"
        ADMIN = "admin", "Django admin"

    id = ObjectIdField(primary_key=True)
    at = MillisecondDateTimeField(default=now_ms, editable=False)
    organization_id = ObjectIdField(
        null=True, blank=True, help_text="The tenant the object belongs to."
    )
    actor = models.CharField(max_length=200, help_text="Token subject or 'staff:<username>'.")
    source = models.CharField(max_length=8, choices=Source.choices)
    action = models.CharField(max_length=8, choices=Action.choices)
    resource = models.CharField(max_length=32, help_text="organizations, clinics, providers, …")
    object_id = ObjectIdField()
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")

    objects = AuditRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["organization_id", "at", "id"], name="audit_org_at_idx"),
            models.Index(fields=["resource", "object_id", "at"], name="audit_object_at_idx"),
            models.Index(fields=["at", "id"], name="audit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.resource} {self.object_id} by {self.actor}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("audit records cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableRecordError("audit records cannot be deleted")
