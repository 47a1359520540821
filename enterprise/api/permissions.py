"""Role checks: members read, org admins and platform admins write."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from enterprise.tenancy import Role, Scope


def request_scope(request: Request) -> Scope:
    """The authenticated caller's scope (only call behind ``TenantRolePermission``)."""
    return request.user.scope


class TenantRolePermission(permissions.BasePermission):
    """Authenticated callers with a scope; writes need a writing role.

    A view may narrow writes further with ``platform_only_actions`` (e.g.
    creating or archiving organizations).
    """

    message = "Your role does not allow this operation."

    def has_permission(self, request: Request, view: Any) -> bool:
        scope = getattr(request.user, "scope", None)
        if scope is None:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        if getattr(view, "action", None) in getattr(view, "platform_only_actions", ()):
            return scope.role is Role.PLATFORM_ADMIN
        return scope.can_write
