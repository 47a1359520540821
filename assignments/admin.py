from django import forms
from django.contrib import admin

from assignments.models import ProviderClinicAssignment
from enterprise.admin import OrganizationScopedAdmin


class AssignmentAdminForm(forms.ModelForm):
    class Meta:
        model = ProviderClinicAssignment
        fields = (
            "provider",
            "clinic",
            "role",
            "is_primary",
            "is_active",
            "assigned_at",
            "ended_at",
        )

    def clean(self):
        cleaned = super().clean()
        provider, clinic = cleaned.get("provider"), cleaned.get("clinic")
        if provider and clinic and provider.organization_id != clinic.organization_id:
            raise forms.ValidationError(
                "The provider and the clinic belong to different organizations."
            )
        return cleaned


@admin.register(ProviderClinicAssignment)
class ProviderClinicAssignmentAdmin(OrganizationScopedAdmin):
    form = AssignmentAdminForm
    list_display = (
        "provider",
        "clinic",
        "role",
        "is_primary",
        "is_active",
        "assigned_at",
        "ended_at",
    )
    list_filter = ("is_active", "role", "is_primary")
    search_fields = ("provider__last_name", "clinic__name", "clinic__code")
    list_select_related = ("provider", "clinic")
    raw_id_fields = ("provider", "clinic")
    readonly_fields = ("id", "organization", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        # As in the API, an assignment's provider and clinic never change once it exists
        # (end it and assign anew); the cache keys each side's view on them.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "provider", "clinic") if obj is not None else fields

    def save_model(self, request, obj, form, change):
        # The organization is the clinic's, as in the API's service.
        obj.organization_id = obj.clinic.organization_id
        super().save_model(request, obj, form, change)
