from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "assignments"
    verbose_name = "Provider-clinic assignments"

    def ready(self) -> None:
        from assignments import signals

        signals.connect()
