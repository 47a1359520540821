"""Clinics: the practice locations of an organization."""

from __future__ import annotations

from typing import Self

from django.db import models

from enterprise.fields import ObjectIdForeignKey
from enterprise.models import AddressFields, BaseModel
from enterprise.querysets import TenantQuerySet
from enterprise.validators import validate_timezone


class ClinicStatus(models.TextChoices):
    ACTIVE = "active"
    INACTIVE = "inactive"
    ARCHIVED = "archived"


class ClinicQuerySet(TenantQuerySet):
    cache_resource = "clinics"

    def active(self) -> Self:
        return self.filter(status=ClinicStatus.ACTIVE)


class Clinic(AddressFields, BaseModel):
    """A practice location; ``code`` is unique within its organization."""

    #: Personal data: the audit trail records that these changed, never their values.
    PERSONAL_FIELDS = ("email", "phone")
    #: What aggregates over clinics filter or group on (the organization summary's clinics
    #: by status): only writes of these change counts (``enterprise.cache.keys``).
    COUNTED_FIELDS = frozenset({"organization", "organization_id", "status"})

    organization = ObjectIdForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="clinics"
    )
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=ClinicStatus.choices, default=ClinicStatus.ACTIVE
    )
    phone = models.CharField(max_length=32, blank=True, default="")
    email = models.EmailField(max_length=254, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])

    objects = ClinicQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="clinic_org_code_uniq"),
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="clinic_org_status_idx"),
            models.Index(
                fields=["organization", "status", "created_at"],
                name="clinic_org_status_created_idx",
            ),
            models.Index(
                fields=["organization", "created_at", "id"], name="clinic_org_created_id_idx"
            ),
            models.Index(fields=["created_at", "id"], name="clinic_created_id_idx"),
            models.Index(fields=["status", "created_at", "id"], name="clinic_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
