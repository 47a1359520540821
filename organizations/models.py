"""Organizations: the tenants of the platform (a dental group)."""

from __future__ import annotations

from typing import Self

from django.conf import settings
from django.db import models

from enterprise.fields import ObjectIdField, ObjectIdForeignKey
from enterprise.models import AddressFields, BaseModel
from enterprise.querysets import TenantQuerySet
from enterprise.tenancy import Scope
from enterprise.validators import validate_timezone


class OrganizationStatus(models.TextChoices):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARCHIVED = "archived"


class SubscriptionTier(models.TextChoices):
    FREE = "free"
    STARTER = "starter"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"


class OrganizationQuerySet(TenantQuerySet):
    cache_resource = "organizations"
    tenant_field = "id"

    def for_scope(self, scope: Scope) -> Self:
        if scope.is_platform:
            return self
        return self.filter(pk=scope.organization_id)

    def active(self) -> Self:
        return self.filter(status=OrganizationStatus.ACTIVE)


class Organization(AddressFields, BaseModel):
    """A dental group: the tenant every clinic, provider and assignment belongs to."""

    #: Personal data: the audit trail records that these changed, never their values.
    PERSONAL_FIELDS = ("contact_email", "phone")

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    status = models.CharField(
        max_length=16, choices=OrganizationStatus.choices, default=OrganizationStatus.ACTIVE
    )
    subscription_tier = models.CharField(
        max_length=16, choices=SubscriptionTier.choices, default=SubscriptionTier.FREE
    )
    contact_email = models.EmailField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "subscription_tier"], name="org_status_tier_idx"),
            models.Index(fields=["status", "created_at"], name="org_status_created_idx"),
            models.Index(fields=["created_at", "id"], name="org_created_id_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class StaffMembership(models.Model):
    """Ties a non-superuser staff account to the one organization it manages in the admin."""

    id = ObjectIdField(primary_key=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_membership"
    )
    organization = ObjectIdForeignKey(
        Organization, on_delete=models.CASCADE, related_name="staff_members"
    )

    class Meta:
        verbose_name = "staff membership"

    def __str__(self) -> str:
        return f"{self.user} → {self.organization}"
