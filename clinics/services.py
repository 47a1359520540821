"""Writes of clinics."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from clinics.models import Clinic, ClinicStatus
from enterprise.errors import ConflictError
from enterprise.scoping import resolve_organization_id
from enterprise.services import apply_changes, full_clean_or_raise, save_or_conflict
from enterprise.tenancy import Scope

CLINIC_FIELDS = (
    "name",
    "code",
    "status",
    "phone",
    "email",
    "timezone",
    "address_line1",
    "address_line2",
    "address_city",
    "address_state",
    "address_postal_code",
    "address_country",
)


def _code_conflict(clinic: Clinic) -> ConflictError:
    message = "A clinic with this code already exists in the organization."
    return ConflictError(message, fields={"code": [message]})


def clinic_create(*, scope: Scope, data: Mapping[str, Any]) -> Clinic:
    """Create a clinic in the caller's organization (platform admins name one).

    Raises ``ValidationError`` (unknown or foreign organization, bad values) and
    ``ConflictError`` when the code is taken within the organization.
    """
    organization_id = resolve_organization_id(scope=scope, requested=data.get("organization_id"))
    clinic = Clinic(organization_id=organization_id)
    apply_changes(clinic, data, allowed=CLINIC_FIELDS)
    full_clean_or_raise(clinic, exclude=["organization"])
    return save_or_conflict(clinic, explain_conflict=_code_conflict)


def clinic_update(
    *,
    scope: Scope,
    instance: Clinic,
    data: Mapping[str, Any],
    expected_updated_at: datetime | None = None,
) -> Clinic:
    """Change the given fields; the organization of a clinic never changes."""
    changed = apply_changes(instance, data, allowed=CLINIC_FIELDS)
    full_clean_or_raise(instance, exclude=["organization"])
    return save_or_conflict(
        instance,
        update_fields=changed,
        explain_conflict=_code_conflict,
        expected_updated_at=expected_updated_at,
    )


def clinic_archive(
    *, scope: Scope, instance: Clinic, expected_updated_at: datetime | None = None
) -> Clinic:
    """Archive the clinic (kept for history). Idempotent."""
    if instance.status == ClinicStatus.ARCHIVED:
        return instance
    instance.status = ClinicStatus.ARCHIVED
    return save_or_conflict(
        instance,
        update_fields=["status"],
        explain_conflict=_code_conflict,
        expected_updated_at=expected_updated_at,
    )
