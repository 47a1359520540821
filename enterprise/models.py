"""Abstract building blocks shared by the resource apps' models."""

from __future__ import annotations

from django.db import models

from enterprise.fields import MillisecondDateTimeField, ObjectIdField, now_ms


class BaseModel(models.Model):
    """A 24-hex ObjectId primary key and millisecond ``created_at``/``updated_at`` stamps."""

    id = ObjectIdField(primary_key=True)
    created_at = MillisecondDateTimeField(default=now_ms, editable=False)
    updated_at = MillisecondDateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True

    def cache_object_ids(self) -> list[str]:
        """The object generations a write of this row bumps: its own (and its parents')."""
        return [self.pk]


class AddressFields(models.Model):
    """A postal address stored as flat columns (one document per row on MongoDB)."""

    address_line1 = models.CharField(max_length=200, blank=True, default="")
    address_line2 = models.CharField(max_length=200, blank=True, default="")
    address_city = models.CharField(max_length=100, blank=True, default="")
    address_state = models.CharField(max_length=100, blank=True, default="")
    address_postal_code = models.CharField(max_length=20, blank=True, default="")
    address_country = models.CharField(
        max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2"
    )

    class Meta:
        abstract = True


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` for one POST, and the response it got (``enterprise.api.idempotency``).

    Unique per (tenant scope, caller, key): the database decides which of two
    concurrent requests with the same key runs; the other is told so (409).
    """

    class State(models.TextChoices):
        PROCESSING = "processing"
        DONE = "done"

    id = ObjectIdField(primary_key=True)
    scope = models.CharField(max_length=40, help_text="'platform' or 'org:<id>'")
    subject = models.CharField(max_length=200, help_text="The caller (token subject).")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROCESSING)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True, default="", help_text="The rendered JSON response.")
    headers = models.JSONField(default=dict, blank=True)
    created_at = MillisecondDateTimeField(default=now_ms, editable=False)
    expires_at = MillisecondDateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "subject", "key"], name="idempotency_scope_subject_key_uniq"
            )
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expires_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
