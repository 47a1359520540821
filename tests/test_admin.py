"""The Django admin: every model registered; non-superuser staff see only their organization."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from organizations.models import StaffMembership

pytestmark = pytest.mark.django_db

CHANGELISTS = {
    "organizations/organization": lambda t: [t.organization],
    "clinics/clinic": lambda t: t.clinics,
    "providers/provider": lambda t: t.providers,
    "assignments/providerclinicassignment": lambda t: t.assignments,
}


@pytest.fixture
def staff_of_a(client, tenant_a):
    user = get_user_model().objects.create_user("staff-a", password="pw-12345-long", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["organizations", "clinics", "providers", "assignments"]
        )
    )
    StaffMembership.objects.create(user=user, organization=tenant_a.organization)
    client.force_login(user)
    return client


@pytest.mark.parametrize("changelist", sorted(CHANGELISTS))
def test_superuser_sees_every_changelist(admin_client, tenant_a, tenant_b, changelist):
    response = admin_client.get(f"/admin/{changelist}/")
    assert response.status_code == 200
    page = response.content.decode()
    for obj in CHANGELISTS[changelist](tenant_b):
        assert f"/{obj.pk}/change/" in page


@pytest.mark.parametrize("changelist", sorted(CHANGELISTS))
def test_staff_see_only_their_organization(staff_of_a, tenant_a, tenant_b, changelist):
    response = staff_of_a.get(f"/admin/{changelist}/")
    assert response.status_code == 200
    page = response.content.decode()
    for obj in CHANGELISTS[changelist](tenant_a):
        assert f"/{obj.pk}/change/" in page
    for obj in CHANGELISTS[changelist](tenant_b):
        assert f"/{obj.pk}/change/" not in page
        assert staff_of_a.get(f"/admin/{changelist}/{obj.pk}/change/").status_code in (302, 404)


def test_staff_without_membership_see_nothing(client, tenant_a):
    user = get_user_model().objects.create_user("orphan", password="pw-12345-long", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="clinics"))
    client.force_login(user)
    response = client.get("/admin/clinics/clinic/")
    assert response.status_code == 403


def test_admin_search_and_filters_render(admin_client, tenant_a):
    clinic = tenant_a.clinics[0]
    response = admin_client.get(
        "/admin/clinics/clinic/", {"q": clinic.code, "status__exact": "active"}
    )
    assert response.status_code == 200 and clinic.name in response.content.decode()
