from django.urls import include, path
from rest_framework.routers import DefaultRouter

from bench.baseline import views

router = DefaultRouter(trailing_slash=False)
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("clinics", views.ClinicViewSet, basename="clinic")
router.register("providers", views.ProviderViewSet, basename="provider")
router.register("assignments", views.AssignmentViewSet, basename="assignment")

urlpatterns = [path("api/v1/", include(router.urls))]
