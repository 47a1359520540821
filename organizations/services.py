"""Writes of organizations. Only platform admins create or archive; org admins edit their own."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError

from enterprise.errors import ConflictError
from enterprise.services import apply_changes, full_clean_or_raise, save_or_conflict
from enterprise.tenancy import Scope
from organizations.models import Organization, OrganizationStatus

ORGANIZATION_FIELDS = (
    "name",
    "slug",
    "status",
    "subscription_tier",
    "contact_email",
    "phone",
    "timezone",
    "address_line1",
    "address_line2",
    "address_city",
    "address_state",
    "address_postal_code",
    "address_country",
)


def _slug_conflict(organization: Organization) -> ConflictError:
    return ConflictError(
        "An organization with this slug already exists.",
        fields={"slug": ["An organization with this slug already exists."]},
    )


def organization_create(*, scope: Scope, data: Mapping[str, Any]) -> Organization:
    """Create an organization (platform scope only).

    Raises ``ValidationError`` for invalid values and ``ConflictError`` when the
    slug is taken (decided by the unique index, so concurrent creates give one 409).
    """
    if not scope.is_platform:
        raise ValidationError("Only platform administrators create organizations.")
    organization = Organization()
    apply_changes(organization, data, allowed=ORGANIZATION_FIELDS)
    full_clean_or_raise(organization)
    return save_or_conflict(organization, explain_conflict=_slug_conflict)


def organization_update(
    *,
    scope: Scope,
    instance: Organization,
    data: Mapping[str, Any],
    expected_updated_at: datetime | None = None,
) -> Organization:
    """Change the given fields; a non-platform caller cannot change status or subscription tier."""
    allowed = ORGANIZATION_FIELDS
    if not scope.is_platform:
        forbidden = sorted(
            f
            for f in ("status", "subscription_tier")
            if f in data and data[f] != getattr(instance, f)
        )
        if forbidden:
            from enterprise.api.serializers import camel_case

            raise ValidationError(
                {
                    camel_case(f): ["Only platform administrators change this field."]
                    for f in forbidden
                }
            )
    changed = apply_changes(instance, data, allowed=allowed)
    full_clean_or_raise(instance)
    return save_or_conflict(
        instance,
        update_fields=changed,
        explain_conflict=_slug_conflict,
        expected_updated_at=expected_updated_at,
    )


def organization_archive(
    *, scope: Scope, instance: Organization, expected_updated_at: datetime | None = None
) -> Organization:
    """Archive (never delete): the organization and its data stay readable. Idempotent."""
    if instance.status == OrganizationStatus.ARCHIVED:
        return instance
    instance.status = OrganizationStatus.ARCHIVED
    return save_or_conflict(
        instance,
        update_fields=["status"],
        explain_conflict=_slug_conflict,
        expected_updated_at=expected_updated_at,
    )
