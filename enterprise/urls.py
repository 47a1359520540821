"""URL conf: the REST API under ``/api/v1/``, its schema and docs, and the admin."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from assignments.views import AssignmentViewSet
from clinics.views import ClinicViewSet
from enterprise.api.exceptions import json_page_not_found
from enterprise.api.routers import OptionalSlashRouter
from organizations.views import OrganizationViewSet
from perfmon.dashboard import performance_dashboard
from perfmon.prometheus import metrics_view
from perfmon.views import (
    CacheClearView,
    CacheStatsView,
    CircuitBreakerActionView,
    CircuitBreakersView,
    HealthView,
    MetricsSummaryView,
)
from providers.views import ProviderViewSet

_public = {"authentication_classes": [], "permission_classes": [AllowAny]}

router = OptionalSlashRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("clinics", ClinicViewSet, basename="clinic")
router.register("providers", ProviderViewSet, basename="provider")
router.register("assignments", AssignmentViewSet, basename="assignment")

api_v1 = [
    # The resources first: URL resolution tries the patterns in order, and nearly every
    # request is for one of them (eight operator patterns fewer to try on each).
    path("", include(router.urls)),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(**_public), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema", **_public), name="docs"),
    re_path(r"^performance/health/?$", HealthView.as_view(), name="performance-health"),
    re_path(
        r"^performance/cache/stats/?$", CacheStatsView.as_view(), name="performance-cache-stats"
    ),
    re_path(
        r"^performance/cache/clear/?$", CacheClearView.as_view(), name="performance-cache-clear"
    ),
    re_path(
        r"^performance/circuit-breakers/?$",
        CircuitBreakersView.as_view(),
        name="performance-circuit-breakers",
    ),
    re_path(
        r"^performance/circuit-breakers/(?P<name>[a-z_]+)/(?P<action>reset|force-open)/?$",
        CircuitBreakerActionView.as_view(),
        name="performance-circuit-breaker-action",
    ),
    re_path(
        r"^performance/metrics/summary/?$",
        MetricsSummaryView.as_view(),
        name="performance-metrics-summary",
    ),
    # Anything else under the API is a JSON 404, in DEBUG too (never Django's HTML page).
    re_path(r"^.*$", json_page_not_found),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    # perfmon's dashboard: staff only (admin login), breaker actions for superusers.
    path(
        "admin/performance/",
        admin.site.admin_view(performance_dashboard),
        name="performance-dashboard",
    ),
    path("admin/", admin.site.urls),
    # Prometheus; not public (PERFMON METRICS_NETWORKS / METRICS_TOKEN), see perfmon.prometheus.
    path("metrics", metrics_view, name="prometheus-metrics"),
]

handler400 = "enterprise.api.exceptions.json_bad_request"
handler403 = "enterprise.api.exceptions.json_permission_denied"
handler404 = "enterprise.api.exceptions.json_page_not_found"
handler500 = "enterprise.api.exceptions.json_server_error"
