"""The audit trail in the admin: read-only for everyone; staff see their organization's records."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from audit.models import AuditRecord
from enterprise.admin import OrganizationScopedAdmin


@admin.register(AuditRecord)
class AuditRecordAdmin(OrganizationScopedAdmin):
    list_display = ("at", "action", "resource", "object_id", "actor", "source", "organization_id")
    list_filter = ("action", "resource", "source")
    search_fields = ("object_id", "actor", "request_id")
    date_hierarchy = None
    fields = (
        "at",
        "organization_id",
        "actor",
        "source",
        "action",
        "resource",
        "object_id",
        "request_id",
        "changes_table",
    )
    readonly_fields = fields

    @admin.display(description="Changes")
    def changes_table(self, obj: AuditRecord) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.changes, indent=2, sort_keys=True))

    # Immutable: nobody adds, changes or deletes a record, superusers included.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
