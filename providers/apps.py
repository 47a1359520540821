from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Providers"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from providers.models import Provider
        from providers.signals import flush_provider_on_write

        post_save.connect(
            flush_provider_on_write, sender=Provider, dispatch_uid="flush_provider_on_write:save"
        )
        post_delete.connect(
            flush_provider_on_write, sender=Provider, dispatch_uid="flush_provider_on_write:delete"
        )
