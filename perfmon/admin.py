"""The audit trail in the admin: read-only, superusers only (the performance page is perfmon.dashboard)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from perfmon.models import OperatorAction


@admin.register(OperatorAction)
class OperatorActionAdmin(admin.ModelAdmin):
    list_display = ("at", "action", "target", "actor", "source")
    list_filter = ("action", "source")
    search_fields = ("actor", "target")
    readonly_fields = ("at", "action", "target", "actor", "source", "detail")
    show_full_result_count = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
