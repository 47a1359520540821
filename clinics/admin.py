from django.contrib import admin

from clinics.models import Clinic
from enterprise.admin import OrganizationScopedAdmin


@admin.register(Clinic)
class ClinicAdmin(OrganizationScopedAdmin):
    list_display = ("name", "code", "organization", "status", "address_city", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "code")
    list_select_related = ("organization",)
    raw_id_fields = ()
    readonly_fields = ("id", "created_at", "updated_at")
