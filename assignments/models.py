"""Provider-clinic assignments: who works at which clinic, in which role."""

from __future__ import annotations

from typing import Self

from django.db import models

from enterprise.cache.keys import parent_object_id
from enterprise.fields import MillisecondDateTimeField, ObjectIdForeignKey, now_ms
from enterprise.models import BaseModel
from enterprise.querysets import TenantQuerySet


class AssignmentRole(models.TextChoices):
    DENTIST = "dentist"
    HYGIENIST = "hygienist"
    ASSISTANT = "assistant"
    FRONT_DESK = "front_desk"
    MANAGER = "manager"


class AssignmentQuerySet(TenantQuerySet):
    cache_resource = "assignments"

    def active(self) -> Self:
        return self.filter(is_active=True)


class ProviderClinicAssignment(BaseModel):
    """A provider working at a clinic of the same organization.

    At most one *active* assignment per (provider, clinic): a partial unique
    index on every backend (no transactions or foreign keys to lean on in
    MongoDB). ``organization`` is copied from the clinic by the service.
    """

    #: What aggregates over assignments filter or group on (the organization summary's active
    #: assignments by role): only writes of these change counts (``enterprise.cache.keys``).
    COUNTED_FIELDS = frozenset({"organization", "organization_id", "is_active", "role"})

    def cache_object_ids(self) -> list[str]:
        """Its own generation and its provider's and clinic's "assignments of" generations,
        which the provider-clinics and clinic-staff routes are keyed on."""
        return [
            self.pk,
            parent_object_id("provider_id", self.provider_id),
            parent_object_id("clinic_id", self.clinic_id),
        ]

    provider = ObjectIdForeignKey(
        "providers.Provider", on_delete=models.PROTECT, related_name="assignments"
    )
    clinic = ObjectIdForeignKey(
        "clinics.Clinic", on_delete=models.PROTECT, related_name="assignments"
    )
    organization = ObjectIdForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField(max_length=16, choices=AssignmentRole.choices)
    is_primary = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    assigned_at = MillisecondDateTimeField(default=now_ms)
    ended_at = MillisecondDateTimeField(null=True, blank=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "provider-clinic assignment"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "clinic"],
                condition=models.Q(is_active=True),
                name="assignment_one_active_uniq",
            ),
        ]
        indexes = [
            models.Index(
                fields=["provider", "is_active", "assigned_at"], name="asg_provider_active_idx"
            ),
            models.Index(
                fields=["clinic", "is_active", "assigned_at"], name="asg_clinic_active_idx"
            ),
            models.Index(
                fields=["organization", "created_at", "id"], name="asg_org_created_id_idx"
            ),
            models.Index(fields=["created_at", "id"], name="asg_created_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id} @ {self.clinic_id} ({self.role})"
