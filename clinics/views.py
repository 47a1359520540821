"""``/api/v1/clinics``."""

from __future__ import annotations

from clinics import selectors, services
from clinics.cache import get_clinics_cached
from clinics.filters import ClinicFilterSet
from clinics.serializers import ClinicSerializer
from enterprise.api.viewsets import ResourceViewSet


class ClinicViewSet(ResourceViewSet):
    """Practice locations. Org admins and platform admins write; members read; DELETE archives."""

    serializer_class = ClinicSerializer
    filterset_class = ClinicFilterSet
    cache_resource = "clinics"
    detail_ttl = "clinic_detail"
    ordering_fields = {
        "createdAt": "created_at",
        "updatedAt": "updated_at",
        "name": "name",
        "code": "code",
    }

    cache_objects = staticmethod(get_clinics_cached)
    list_selector = staticmethod(selectors.clinic_list)
    create_service = staticmethod(services.clinic_create)
    update_service = staticmethod(services.clinic_update)
    destroy_service = staticmethod(services.clinic_archive)
