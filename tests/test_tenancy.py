"""Tenant isolation: another organization's data is invisible (404), never revealed.

The matrix is generated from the list of routed resources, so a new resource
added to the router without being listed here fails ``test_every_routed_resource_is_covered``.
"""

from __future__ import annotations

import pytest

from enterprise.urls import router

RESOURCES = {
    "organizations": lambda t: [t.organization],
    "clinics": lambda t: t.clinics,
    "providers": lambda t: t.providers,
    "assignments": lambda t: t.assignments,
}


def test_every_routed_resource_is_covered():
    assert {prefix for prefix, _, _ in router.registry} == set(RESOURCES)


@pytest.mark.parametrize("role", ["member", "org_admin"])
@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_lists_never_show_another_tenants_rows(api, tenant_a, tenant_b, role, resource):
    response = api(role, tenant_a.id).get(f"/api/v1/{resource}?limit=100")
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {obj.pk for obj in RESOURCES[resource](tenant_a)}
    assert not ids & tenant_b.object_ids()


@pytest.mark.parametrize("role", ["member", "org_admin"])
@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_filtering_on_another_tenant_returns_nothing(api, tenant_a, tenant_b, role, resource):
    if resource == "organizations":
        pytest.skip("organizations have no organization filter")
    response = api(role, tenant_a.id).get(f"/api/v1/{resource}?organizationId={tenant_b.id}")
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("role", ["member", "org_admin"])
@pytest.mark.parametrize("resource", sorted(RESOURCES))
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_another_tenants_objects_are_404_for_every_method(
    api, tenant_a, tenant_b, role, resource, method
):
    client = api(role, tenant_a.id)
    for obj in RESOURCES[resource](tenant_b):
        response = getattr(client, method)(f"/api/v1/{resource}/{obj.pk}", {}, format="json")
        # Role checks answer before any lookup, with the same 403 for every id:
        # members never write, and only platform admins archive organizations.
        role_refused = method != "get" and (
            role == "member" or (resource == "organizations" and method == "delete")
        )
        assert response.status_code == (403 if role_refused else 404), response.content
        assert tenant_b.organization.name not in response.content.decode()


@pytest.mark.parametrize("role", ["member", "org_admin"])
def test_related_routes_and_summary_hide_other_tenants(api, tenant_a, tenant_b, role):
    client = api(role, tenant_a.id)
    assert (
        client.get(f"/api/v1/assignments/provider/{tenant_b.providers[0].pk}/clinics").status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/assignments/clinic/{tenant_b.clinics[0].pk}/staff").status_code == 404
    )
    assert client.get(f"/api/v1/organizations/{tenant_b.id}/summary").status_code == 404


def test_member_reads_own_objects_but_cannot_write(api, tenant_a):
    client = api("member", tenant_a.id)
    clinic = tenant_a.clinics[0]
    assert client.get(f"/api/v1/clinics/{clinic.pk}").status_code == 200
    assert (
        client.patch(f"/api/v1/clinics/{clinic.pk}", {"name": "X"}, format="json").status_code
        == 403
    )
    assert (
        client.post("/api/v1/clinics", {"name": "X", "code": "X1"}, format="json").status_code
        == 403
    )
    assert client.delete(f"/api/v1/clinics/{clinic.pk}").status_code == 403
    clinic.refresh_from_db()
    assert clinic.name != "X"


def test_org_admin_cannot_create_in_another_organization(api, tenant_a, tenant_b):
    client = api("org_admin", tenant_a.id)
    for resource, body in [
        ("clinics", {"name": "Sneaky", "code": "SNK", "organizationId": tenant_b.id}),
        ("providers", {"firstName": "S", "lastName": "N", "organizationId": tenant_b.id}),
    ]:
        response = client.post(f"/api/v1/{resource}", body, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"organizationId": ["Organization not found."]}
    assert tenant_b.organization.clinics.count() == 2


def test_org_admin_cannot_assign_across_tenants(api, tenant_a, tenant_b):
    response = api("org_admin", tenant_a.id).post(
        "/api/v1/assignments",
        {
            "providerId": tenant_a.providers[1].pk,
            "clinicId": tenant_b.clinics[0].pk,
            "role": "dentist",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"clinicId": ["Clinic not found."]}


def test_only_platform_admins_create_and_archive_organizations(api, tenant_a):
    body = {"name": "New Group", "slug": "new-group"}
    assert (
        api("org_admin", tenant_a.id).post("/api/v1/organizations", body, format="json").status_code
        == 403
    )
    assert (
        api("org_admin", tenant_a.id).delete(f"/api/v1/organizations/{tenant_a.id}").status_code
        == 403
    )
    assert (
        api("platform_admin").post("/api/v1/organizations", body, format="json").status_code == 201
    )


def test_platform_admin_sees_every_tenant(api, tenant_a, tenant_b):
    response = api("platform_admin").get("/api/v1/clinics?limit=100")
    ids = {row["id"] for row in response.json()["results"]}
    assert {c.pk for c in tenant_a.clinics + tenant_b.clinics} == ids
