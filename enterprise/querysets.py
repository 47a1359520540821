"""QuerySet base classes that know about tenant scopes."""

from __future__ import annotations

from typing import Self

from django.db import models

from enterprise.tenancy import Scope


class TenantQuerySet(models.QuerySet):
    """Rows owned by one organization through an ``organization`` foreign key."""

    tenant_field = "organization_id"

    def for_scope(self, scope: Scope) -> Self:
        """Only the rows the scope may see; a no-op for the platform scope."""
        if scope.is_platform:
            return self
        return self.filter(**{self.tenant_field: scope.organization_id})

    def newest_first(self) -> Self:
        return self.order_by("-created_at", "-id")
