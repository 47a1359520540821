"""Writes of provider-clinic assignments."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError

from assignments.models import ProviderClinicAssignment
from clinics.models import Clinic
from enterprise.errors import ConflictError
from enterprise.fields import now_ms
from enterprise.services import apply_changes, full_clean_or_raise, save_or_conflict
from enterprise.tenancy import Scope
from providers.models import Provider

ASSIGNMENT_FIELDS = ("role", "is_primary", "assigned_at")


def _active_conflict(assignment: ProviderClinicAssignment) -> ConflictError:
    message = "The provider already has an active assignment at this clinic."
    return ConflictError(message, fields={"clinicId": [message]})


def assignment_create(*, scope: Scope, data: Mapping[str, Any]) -> ProviderClinicAssignment:
    """Assign a provider to a clinic of the same organization.

    The organization is the clinic's, never taken from input. Raises
    ``ValidationError`` when the provider or clinic is unknown to the scope or
    they belong to different organizations, ``ConflictError`` when an active
    assignment for the pair exists (decided by the partial unique index).
    """
    provider_id, clinic_id = data["provider_id"], data["clinic_id"]
    clinic = (
        Clinic.objects.for_scope(scope).filter(pk=clinic_id).only("id", "organization_id").first()
    )
    provider = (
        Provider.objects.for_scope(scope)
        .filter(pk=provider_id)
        .only("id", "organization_id")
        .first()
    )
    errors: dict[str, list[str]] = {}
    if clinic is None:
        errors["clinicId"] = ["Clinic not found."]
    if provider is None:
        errors["providerId"] = ["Provider not found."]
    if errors:
        raise ValidationError(errors)
    if clinic.organization_id != provider.organization_id:
        raise ValidationError(
            {"providerId": ["The provider and the clinic belong to different organizations."]}
        )
    assignment = ProviderClinicAssignment(
        provider_id=provider.pk,
        clinic_id=clinic.pk,
        organization_id=clinic.organization_id,
        is_active=True,
    )
    apply_changes(assignment, data, allowed=ASSIGNMENT_FIELDS)
    full_clean_or_raise(assignment, exclude=["provider", "clinic", "organization"])
    return save_or_conflict(assignment, explain_conflict=_active_conflict)


def assignment_update(
    *,
    scope: Scope,
    instance: ProviderClinicAssignment,
    data: Mapping[str, Any],
    expected_updated_at: datetime | None = None,
) -> ProviderClinicAssignment:
    """Change role, primary flag, start date or active state; provider and clinic never change.

    Setting ``is_active`` false ends the assignment (``ended_at`` now); setting
    it true again reopens it, a 409 if another active one exists for the pair.
    """
    changed = apply_changes(instance, data, allowed=ASSIGNMENT_FIELDS)
    if "is_active" in data and data["is_active"] != instance.is_active:
        instance.is_active = data["is_active"]
        instance.ended_at = None if instance.is_active else now_ms()
        changed += ["is_active", "ended_at"]
    full_clean_or_raise(instance, exclude=["provider", "clinic", "organization"])
    return save_or_conflict(
        instance,
        update_fields=changed,
        explain_conflict=_active_conflict,
        expected_updated_at=expected_updated_at,
    )


def assignment_end(
    *,
    scope: Scope,
    instance: ProviderClinicAssignment,
    expected_updated_at: datetime | None = None,
) -> ProviderClinicAssignment:
    """End the assignment (``is_active`` false, ``ended_at`` now). Idempotent."""
    if not instance.is_active:
        return instance
    instance.is_active = False
    instance.ended_at = now_ms()
    return save_or_conflict(
        instance,
        update_fields=["is_active", "ended_at"],
        explain_conflict=_active_conflict,
        expected_updated_at=expected_updated_at,
    )
