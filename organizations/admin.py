from django.contrib import admin

from enterprise.admin import OrganizationScopedAdmin
from organizations.models import Organization, StaffMembership


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_field = "id"
    list_display = ("name", "slug", "status", "subscription_tier", "contact_email", "created_at")
    list_filter = ("status", "subscription_tier")
    search_fields = ("name", "slug")
    readonly_fields = ("id", "created_at", "updated_at")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("id", "name", "slug", "status", "subscription_tier", "timezone")}),
        ("Contact", {"fields": ("contact_email", "phone")}),
        (
            "Address",
            {
                "fields": (
                    "address_line1",
                    "address_line2",
                    "address_city",
                    "address_state",
                    "address_postal_code",
                    "address_country",
                )
            },
        ),
        ("History", {"fields": ("created_at", "updated_at")}),
    )

    def has_add_permission(self, request):
        # New tenants are created by platform staff (superusers) only.
        return request.user.is_superuser


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization")
    search_fields = ("user__username", "organization__name")
    raw_id_fields = ("user", "organization")

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
