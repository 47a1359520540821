"""Writes of providers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from enterprise.errors import ConflictError
from enterprise.fields import now_ms
from enterprise.scoping import resolve_organization_id
from enterprise.services import apply_changes, full_clean_or_raise, save_or_conflict
from enterprise.tenancy import Scope
from providers.models import Provider, ProviderStatus

PROVIDER_FIELDS = ("first_name", "last_name", "email", "npi", "specialty", "status")


def _no_conflict(provider: Provider) -> ConflictError:
    return ConflictError("The provider conflicts with existing data.")


def provider_create(*, scope: Scope, data: Mapping[str, Any]) -> Provider:
    """Create a provider in the caller's organization (platform admins name one)."""
    organization_id = resolve_organization_id(scope=scope, requested=data.get("organization_id"))
    provider = Provider(organization_id=organization_id)
    apply_changes(provider, data, allowed=PROVIDER_FIELDS)
    full_clean_or_raise(provider, exclude=["organization"])
    return save_or_conflict(provider, explain_conflict=_no_conflict)


def provider_update(
    *,
    scope: Scope,
    instance: Provider,
    data: Mapping[str, Any],
    expected_updated_at: datetime | None = None,
) -> Provider:
    """Change the given fields; the organization of a provider never changes."""
    changed = apply_changes(instance, data, allowed=PROVIDER_FIELDS)
    full_clean_or_raise(instance, exclude=["organization"])
    return save_or_conflict(
        instance,
        update_fields=changed,
        explain_conflict=_no_conflict,
        expected_updated_at=expected_updated_at,
    )


def provider_deactivate(
    *, scope: Scope, instance: Provider, expected_updated_at: datetime | None = None
) -> Provider:
    """Mark the provider inactive and end every active assignment they hold. Idempotent.

    Providers are never deleted: assignments keep pointing at them for history.
    The provider's own (possibly conditional) update comes first, so a failed
    ``If-Match`` ends nothing, on MongoDB too where there is no transaction.
    """
    from assignments.models import ProviderClinicAssignment
    from audit.recording import record_bulk_update

    with transaction.atomic():
        if instance.status != ProviderStatus.INACTIVE:
            instance.status = ProviderStatus.INACTIVE
            save_or_conflict(
                instance,
                update_fields=["status"],
                explain_conflict=_no_conflict,
                expected_updated_at=expected_updated_at,
            )
        ended = now_ms()
        active = ProviderClinicAssignment.objects.filter(provider_id=instance.pk, is_active=True)
        ended_ids = list(active.values_list("pk", flat=True))
        if ended_ids:
            ProviderClinicAssignment.objects.filter(pk__in=ended_ids, is_active=True).update(
                is_active=False, ended_at=ended, updated_at=ended
            )
            record_bulk_update(
                model=ProviderClinicAssignment,
                object_ids=ended_ids,
                organization_id=instance.organization_id,
                changes={"is_active": (True, False), "ended_at": (None, ended)},
            )
    return instance
