"""Admin plumbing: non-superuser staff see and edit only their organization's rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from audit.models import AuditRecord
from audit.recording import Actor, acting_as, record_write, snapshot


def staff_organization_id(request: HttpRequest) -> str | None:
    """The organization a non-superuser staff member manages, or ``None`` when they have none."""
    membership = getattr(request.user, "staff_membership", None)
    return membership.organization_id if membership is not None else None


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Rows filtered by ``organization_field`` for staff who are not superusers.

    Staff without a membership see nothing and may change nothing. The
    organization of a new row is forced to the staff member's own.
    """

    organization_field = "organization_id"
    list_per_page = 50
    show_full_result_count = False  # an exact COUNT(*) on every changelist page is costly at scale

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        organization_id = staff_organization_id(request)
        if organization_id is None:
            return queryset.none()
        return queryset.filter(**{self.organization_field: organization_id})

    def _allowed(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or staff_organization_id(request) is not None

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request) and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Rows are archived or ended, never deleted: history stays intact.
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        organization_id = None if request.user.is_superuser else staff_organization_id(request)
        if organization_id is not None:
            related = db_field.related_model
            if related._meta.model_name == "organization":
                kwargs["queryset"] = related.objects.filter(pk=organization_id)
            elif any(f.name == "organization" for f in related._meta.fields):
                kwargs["queryset"] = related.objects.filter(organization_id=organization_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Save and record the write in the audit trail (the admin view's transaction holds both)."""
        organization_id = None if request.user.is_superuser else staff_organization_id(request)
        if organization_id is not None and self.organization_field == "organization_id":
            obj.organization_id = organization_id
        before = snapshot(type(obj).objects.filter(pk=obj.pk).first()) if change else {}
        actor = Actor(
            name=f"staff:{request.user.get_username()}",
            source=AuditRecord.Source.ADMIN,
            request_id=getattr(request, "request_id", ""),
        )
        with acting_as(actor):
            super().save_model(request, obj, form, change)
            record_write(
                instance=obj,
                before=before,
                action=AuditRecord.Action.UPDATE if change else AuditRecord.Action.CREATE,
            )
