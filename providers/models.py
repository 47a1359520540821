"""Providers: the dentists, hygienists and assistants of an organization."""

from __future__ import annotations

from typing import Self

from django.db import models

from enterprise.fields import ObjectIdForeignKey
from enterprise.models import BaseModel
from enterprise.querysets import TenantQuerySet
from enterprise.validators import validate_npi


class ProviderStatus(models.TextChoices):
    ACTIVE = "active"
    INACTIVE = "inactive"


class ProviderQuerySet(TenantQuerySet):
    cache_resource = "providers"

    def active(self) -> Self:
        return self.filter(status=ProviderStatus.ACTIVE)


class Provider(BaseModel):
    """A clinician employed by an organization; works at clinics through assignments."""

    #: Personal data: the audit trail records that these changed, never their values.
    PERSONAL_FIELDS = ("first_name", "last_name", "email", "npi")
    #: What aggregates over providers filter or group on (the organization summary's active
    #: providers): only writes of these change counts (``enterprise.cache.keys``).
    COUNTED_FIELDS = frozenset({"organization", "organization_id", "status"})

    organization = ObjectIdForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="providers"
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254, blank=True, default="")
    npi = models.CharField(
        "NPI",
        max_length=10,
        blank=True,
        default="",
        validators=[validate_npi],
        help_text="US National Provider Identifier, 10 digits",
    )
    specialty = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=ProviderStatus.choices, default=ProviderStatus.ACTIVE
    )

    objects = ProviderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["organization", "created_at", "id"], name="prov_org_created_id_idx"
            ),
            models.Index(
                fields=["organization", "status", "created_at"], name="prov_org_status_created_idx"
            ),
            models.Index(fields=["created_at", "id"], name="prov_created_id_idx"),
            models.Index(fields=["status", "created_at", "id"], name="prov_status_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"
