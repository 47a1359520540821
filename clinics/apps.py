from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "clinics"
    verbose_name = "Clinics"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from clinics.models import Clinic
        from clinics.signals import flush_clinic_on_write

        post_save.connect(
            flush_clinic_on_write, sender=Clinic, dispatch_uid="flush_clinic_on_write:save"
        )
        post_delete.connect(
            flush_clinic_on_write, sender=Clinic, dispatch_uid="flush_clinic_on_write:delete"
        )
