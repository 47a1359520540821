from django.apps import AppConfig


class EnterpriseConfig(AppConfig):
    name = "enterprise"
    verbose_name = "Enterprise platform"

    def ready(self) -> None:
        from enterprise.api import schema  # noqa: F401 - registers the OpenAPI extensions
