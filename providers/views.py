"""``/api/v1/providers``."""

from __future__ import annotations

from enterprise.api.viewsets import ResourceViewSet
from providers import selectors, services
from providers.cache import get_providers_cached
from providers.filters import ProviderFilterSet
from providers.serializers import ProviderSerializer


class ProviderViewSet(ResourceViewSet):
    """Clinicians of an organization. DELETE deactivates and ends their assignments."""

    serializer_class = ProviderSerializer
    filterset_class = ProviderFilterSet
    cache_resource = "providers"
    detail_ttl = "provider_detail"
    ordering_fields = {
        "createdAt": "created_at",
        "updatedAt": "updated_at",
        "lastName": "last_name",
    }

    cache_objects = staticmethod(get_providers_cached)
    list_selector = staticmethod(selectors.provider_list)
    create_service = staticmethod(services.provider_create)
    update_service = staticmethod(services.provider_update)
    destroy_service = staticmethod(services.provider_deactivate)
