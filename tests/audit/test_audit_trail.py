"""The audit trail: one record per applied API or admin write, immutable, personal values never stored."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from assignments.models import ProviderClinicAssignment
from audit.models import AuditRecord, ImmutableRecordError
from organizations.models import StaffMembership
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def records(**filters):
    return list(AuditRecord.objects.filter(**filters).order_by("at", "id"))


def test_api_create_update_delete_each_leave_one_record(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    created = client.post(
        "/api/v1/clinics", {"name": "North", "code": "N-1"}, format="json", HTTP_X_REQUEST_ID="r-1"
    )
    assert created.status_code == 201
    clinic_id = created.json()["id"]
    assert (
        client.patch(f"/api/v1/clinics/{clinic_id}", {"name": "North 2"}, format="json").status_code
        == 200
    )
    assert client.delete(f"/api/v1/clinics/{clinic_id}").status_code == 200

    create, update, delete = records(object_id=clinic_id)
    assert [r.action for r in (create, update, delete)] == ["create", "update", "delete"]
    for record in (create, update, delete):
        assert record.actor == "tester" and record.source == "api"
        assert record.organization_id == tenant_a.id and record.resource == "clinics"
    assert create.request_id == "r-1"
    assert create.changes["name"] == {"old": None, "new": "North"}
    assert update.changes == {"name": {"old": "North", "new": "North 2"}}
    assert delete.changes == {"status": {"old": "active", "new": "archived"}}


def test_writes_that_change_nothing_or_fail_leave_no_record(api, tenant_a, tenant_b):
    client = api("org_admin", tenant_a.id)
    clinic = tenant_a.clinics[0]
    url = f"/api/v1/clinics/{clinic.pk}"
    assert client.patch(url, {"name": clinic.name}, format="json").status_code == 200  # same value
    assert client.patch(url, {"status": "bogus"}, format="json").status_code == 400
    taken = tenant_a.clinics[1].code
    assert client.patch(url, {"code": taken}, format="json").status_code == 409
    assert (
        client.patch(url, {"name": "X"}, format="json", HTTP_IF_MATCH='"stale"').status_code == 412
    )
    assert (
        client.patch(
            f"/api/v1/clinics/{tenant_b.clinics[0].pk}", {"name": "Y"}, format="json"
        ).status_code
        == 404
    )
    assert api("member", tenant_a.id).patch(url, {"name": "Z"}, format="json").status_code == 403
    assert client.delete(url).status_code == 200
    assert client.delete(url).status_code == 200  # already archived: idempotent, no new record
    assert [r.action for r in records()] == ["delete"]


def test_personal_fields_are_flagged_never_stored(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    body = {
        "firstName": "Canaryfirst",
        "lastName": "Canarylast",
        "email": "canary@example.org",
        "npi": "1234567893",
        "specialty": "Endodontics",
    }
    provider_id = client.post("/api/v1/providers", body, format="json").json()["id"]
    assert (
        client.patch(
            f"/api/v1/providers/{provider_id}", {"email": "other@example.org"}, format="json"
        ).status_code
        == 200
    )

    create, update = records(object_id=provider_id)
    assert create.changes["first_name"] == {"redacted": True}
    assert create.changes["specialty"] == {"old": None, "new": "Endodontics"}
    assert update.changes == {"email": {"redacted": True}}
    stored = json.dumps([r.changes for r in records()])
    for canary in (
        "Canaryfirst",
        "Canarylast",
        "canary@example.org",
        "other@example.org",
        "1234567893",
    ):
        assert canary not in stored


def test_deactivating_a_provider_records_the_assignments_it_ends(api, tenant_a):
    provider = tenant_a.providers[0]
    active = set(
        ProviderClinicAssignment.objects.filter(provider=provider, is_active=True).values_list(
            "pk", flat=True
        )
    )
    assert len(active) == 2
    assert (
        api("org_admin", tenant_a.id).delete(f"/api/v1/providers/{provider.pk}").status_code == 200
    )
    ended = records(resource="assignments")
    assert {r.object_id for r in ended} == active
    assert all(r.changes["is_active"] == {"old": True, "new": False} for r in ended)
    assert records(object_id=provider.pk)[0].changes == {
        "status": {"old": "active", "new": "inactive"}
    }


def test_records_cannot_be_changed_or_deleted(api, tenant_a):
    response = api("org_admin", tenant_a.id).patch(
        f"/api/v1/clinics/{tenant_a.clinics[0].pk}", {"name": "New"}, format="json"
    )
    assert response.status_code == 200
    record = AuditRecord.objects.get()
    record.actor = "someone else"
    with pytest.raises(ImmutableRecordError):
        record.save()
    with pytest.raises(ImmutableRecordError):
        record.delete()
    with pytest.raises(ImmutableRecordError):
        AuditRecord.objects.filter(pk=record.pk).update(actor="x")
    with pytest.raises(ImmutableRecordError):
        AuditRecord.objects.all().delete()
    assert AuditRecord.objects.get().actor == "tester"


@pytest.fixture
def staff_client(client, tenant_a):
    user = get_user_model().objects.create_user("staff-a", password="pw-12345-long", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["clinics", "audit"])
    )
    StaffMembership.objects.create(user=user, organization=tenant_a.organization)
    client.force_login(user)
    return client


def test_admin_writes_are_recorded_with_the_staff_user(staff_client, tenant_a):
    clinic = tenant_a.clinics[0]
    page = staff_client.get(f"/admin/clinics/clinic/{clinic.pk}/change/")
    form = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    form.update(name="Renamed in admin", organization=tenant_a.id)
    response = staff_client.post(f"/admin/clinics/clinic/{clinic.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    (record,) = records()
    assert record.actor == "staff:staff-a" and record.source == "admin"
    assert record.action == "update" and record.object_id == clinic.pk
    assert record.changes == {"name": {"old": clinic.name, "new": "Renamed in admin"}}


def test_admin_shows_records_read_only_and_only_the_staff_members_organization(
    api, staff_client, admin_client, tenant_a, tenant_b
):
    api("org_admin", tenant_a.id).patch(
        f"/api/v1/clinics/{tenant_a.clinics[0].pk}", {"name": "A2"}, format="json"
    )
    api("org_admin", tenant_b.id).patch(
        f"/api/v1/clinics/{tenant_b.clinics[0].pk}", {"name": "B2"}, format="json"
    )
    own = AuditRecord.objects.get(organization_id=tenant_a.id)
    foreign = AuditRecord.objects.get(organization_id=tenant_b.id)

    page = staff_client.get("/admin/audit/auditrecord/").content.decode()
    assert f"/{own.pk}/change/" in page and f"/{foreign.pk}/change/" not in page
    assert staff_client.get(f"/admin/audit/auditrecord/{foreign.pk}/change/").status_code in (
        302,
        404,
    )
    detail = staff_client.get(f"/admin/audit/auditrecord/{own.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()

    for client in (staff_client, admin_client):  # superusers cannot edit history either
        assert client.get("/admin/audit/auditrecord/add/").status_code == 403
        assert client.get(f"/admin/audit/auditrecord/{own.pk}/delete/").status_code == 403
        assert (
            client.post(f"/admin/audit/auditrecord/{own.pk}/change/", {"actor": "x"}).status_code
            == 403
        )
    assert admin_client.get(f"/admin/audit/auditrecord/{foreign.pk}/change/").status_code == 200
    assert AuditRecord.objects.get(pk=own.pk).actor == "tester"


def test_platform_created_organization_is_recorded_under_itself(api):
    response = api("platform_admin").post(
        "/api/v1/organizations", {"name": "New Group", "slug": "new-group"}, format="json"
    )
    assert response.status_code == 201, response.json()
    (record,) = records()
    assert record.organization_id == response.json()["id"] == record.object_id
    assert OrganizationFactory._meta.model.objects.filter(pk=record.object_id).exists()
