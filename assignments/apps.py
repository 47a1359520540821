from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "assignments"
    verbose_name = "Provider-clinic assignments"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from assignments.models import ProviderClinicAssignment
        from assignments.signals import flush_assignment_on_write

        post_save.connect(
            flush_assignment_on_write,
            sender=ProviderClinicAssignment,
            dispatch_uid="flush_assignment_on_write:save",
        )
        post_delete.connect(
            flush_assignment_on_write,
            sender=ProviderClinicAssignment,
            dispatch_uid="flush_assignment_on_write:delete",
        )
