from django.contrib import admin

from enterprise.admin import OrganizationScopedAdmin
from providers.models import Provider


@admin.register(Provider)
class ProviderAdmin(OrganizationScopedAdmin):
    list_display = ("last_name", "first_name", "specialty", "organization", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("first_name", "last_name", "email", "npi")
    list_select_related = ("organization",)
    readonly_fields = ("id", "created_at", "updated_at")
