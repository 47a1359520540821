"""perfmon's one table: the audit trail of operator actions taken through the API, admin or commands."""

from __future__ import annotations

from django.db import models

from enterprise.fields import MillisecondDateTimeField, ObjectIdField, now_ms


class OperatorAction(models.Model):
    """One operator action on shared infrastructure (cache clear, breaker reset or force-open): who, what, when."""

    class Action(models.TextChoices):
        CACHE_CLEAR = "cache_clear", "Cache clear"
        BREAKER_RESET = "breaker_reset", "Circuit breaker reset"
        BREAKER_FORCE_OPEN = "breaker_force_open", "Circuit breaker forced open"

    id = ObjectIdField(primary_key=True)
    at = MillisecondDateTimeField(default=now_ms, editable=False)
    actor = models.CharField(
        max_length=200, help_text="Token subject, admin username or 'manage.py'."
    )
    source = models.CharField(max_length=16, help_text="api, admin or command")
    action = models.CharField(max_length=32, choices=Action.choices)
    target = models.CharField(max_length=200, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["at", "id"], name="operator_action_at_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.target} by {self.actor}"
