from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = "Organizations"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from organizations.models import Organization
        from organizations.signals import flush_organization_on_write

        post_save.connect(
            flush_organization_on_write,
            sender=Organization,
            dispatch_uid="flush_organization_on_write:save",
        )
        post_delete.connect(
            flush_organization_on_write,
            sender=Organization,
            dispatch_uid="flush_organization_on_write:delete",
        )
