"""Resolving an organization named in a request body against the caller's scope."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from enterprise.tenancy import Scope


def resolve_organization_id(
    *, scope: Scope, requested: str | None, field: str = "organizationId"
) -> str:
    """The organization a new row belongs to.

    Non-platform callers may omit it (their own organization is used) or name
    their own; naming another one, or one that does not exist, is the same 400
    so the answer reveals nothing about other tenants.
    """
    from organizations.models import Organization

    if not scope.is_platform:
        if requested is None or requested == scope.organization_id:
            return scope.organization_id  # type: ignore[return-value]
        raise ValidationError({field: ["Organization not found."]})
    if requested is None:
        raise ValidationError({field: ["This field is required."]})
    if not Organization.objects.filter(pk=requested).exists():
        raise ValidationError({field: ["Organization not found."]})
    return requested
