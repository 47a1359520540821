"""/api/v1/assignments and the provider-clinics / clinic-staff routes."""

from __future__ import annotations

import pytest

from assignments.models import ProviderClinicAssignment
from tests.factories import AssignmentFactory, ClinicFactory, OrganizationFactory, ProviderFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/assignments"


@pytest.fixture
def pair():
    org = OrganizationFactory()
    return org, ClinicFactory(organization=org), ProviderFactory(organization=org)


def test_create_sets_organization_from_the_clinic_never_from_input(api, pair):
    org, clinic, provider = pair
    body = {
        "providerId": provider.pk,
        "clinicId": clinic.pk,
        "role": "hygienist",
        "organizationId": "f" * 24,
    }
    response = api("org_admin", org.pk).post(URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["organizationId"] == org.pk
    assert (data["isActive"], data["endedAt"], data["isPrimary"]) == (True, None, False)


def test_second_active_assignment_for_the_pair_is_409(api, pair):
    org, clinic, provider = pair
    client = api("org_admin", org.pk)
    body = {"providerId": provider.pk, "clinicId": clinic.pk, "role": "dentist"}
    assert client.post(URL, body, format="json").status_code == 201
    response = client.post(URL, body, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert ProviderClinicAssignment.objects.filter(is_active=True).count() == 1


def test_ended_assignment_frees_the_pair(api, pair):
    org, clinic, provider = pair
    client = api("org_admin", org.pk)
    body = {"providerId": provider.pk, "clinicId": clinic.pk, "role": "dentist"}
    first = client.post(URL, body, format="json").json()
    ended = client.delete(f"{URL}/{first['id']}")
    assert ended.status_code == 200
    assert ended.json()["isActive"] is False and ended.json()["endedAt"] is not None
    assert client.post(URL, body, format="json").status_code == 201
    # Reopening the ended one now collides with the new active one.
    reopen = client.patch(f"{URL}/{first['id']}", {"isActive": True}, format="json")
    assert reopen.status_code == 409
    assert ProviderClinicAssignment.objects.filter(is_active=True).count() == 1


def test_provider_and_clinic_of_different_organizations_cannot_be_assigned(api, pair):
    _, clinic, _ = pair
    stranger = ProviderFactory()
    body = {"providerId": stranger.pk, "clinicId": clinic.pk, "role": "dentist"}
    response = api("platform_admin").post(URL, body, format="json")
    assert response.status_code == 400
    assert "providerId" in response.json()["error"]["fields"]
    assert ProviderClinicAssignment.objects.count() == 0


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"role": "janitor"}, "role"),
        ({"providerId": "nope"}, "providerId"),
        ({"isActive": "maybe"}, "isActive"),
    ],
)
def test_invalid_assignment_bodies_are_400(api, pair, patch, field):
    org, clinic, provider = pair
    body = {"providerId": provider.pk, "clinicId": clinic.pk, "role": "dentist", **patch}
    response = api("org_admin", org.pk).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_update_changes_role_but_never_the_pair(api, pair):
    org, clinic, provider = pair
    assignment = AssignmentFactory(clinic=clinic, provider=provider)
    other_clinic = ClinicFactory(organization=org)
    response = api("org_admin", org.pk).patch(
        f"{URL}/{assignment.pk}", {"role": "manager", "clinicId": other_clinic.pk}, format="json"
    )
    assert response.status_code == 200
    assignment.refresh_from_db()
    assert (assignment.role, assignment.clinic_id) == ("manager", clinic.pk)


def test_filters(api, pair):
    org, clinic, provider = pair
    active = AssignmentFactory(clinic=clinic, provider=provider, role="dentist")
    ended = AssignmentFactory(
        clinic=ClinicFactory(organization=org), provider=provider, role="assistant", is_active=False
    )
    client = api("member", org.pk)

    def ids(query: str) -> list[str]:
        return [r["id"] for r in client.get(f"{URL}?{query}").json()["results"]]

    assert ids("isActive=true") == [active.pk]
    assert ids("isActive=false") == [ended.pk]
    assert ids("role=assistant") == [ended.pk]
    assert ids(f"clinicId={clinic.pk}") == [active.pk]
    assert set(ids(f"providerId={provider.pk}")) == {active.pk, ended.pk}
    assert client.get(f"{URL}?role=janitor").status_code == 400
    assert client.get(f"{URL}?clinicId=123").status_code == 400


def test_provider_clinics_embeds_active_clinics_with_role(api, pair):
    org, clinic, provider = pair
    second = ClinicFactory(organization=org)
    AssignmentFactory(clinic=clinic, provider=provider, role="dentist", is_primary=True)
    AssignmentFactory(clinic=second, provider=provider, role="hygienist")
    AssignmentFactory(clinic=ClinicFactory(organization=org), provider=provider, is_active=False)
    response = api("member", org.pk).get(f"{URL}/provider/{provider.pk}/clinics")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["clinic"]["id"], r["role"]) for r in rows] == [
        (second.pk, "hygienist"),
        (clinic.pk, "dentist"),
    ]
    assert rows[1]["isPrimary"] is True
    assert rows[0]["clinic"]["code"] == second.code


def test_clinic_staff_embeds_active_providers(api, pair):
    org, clinic, provider = pair
    AssignmentFactory(clinic=clinic, provider=provider, role="assistant")
    response = api("member", org.pk).get(f"{URL}/clinic/{clinic.pk}/staff/")
    rows = response.json()["results"]
    assert [(r["provider"]["id"], r["role"]) for r in rows] == [(provider.pk, "assistant")]


def test_related_routes_for_unknown_ids_are_404_and_empty_for_known(api, pair):
    org, clinic, provider = pair
    client = api("member", org.pk)
    assert client.get(f"{URL}/provider/{'a' * 24}/clinics").status_code == 404
    assert client.get(f"{URL}/provider/not-an-id/clinics").status_code == 404
    assert client.get(f"{URL}/clinic/{'a' * 24}/staff").status_code == 404
    empty = client.get(f"{URL}/clinic/{clinic.pk}/staff")
    assert empty.status_code == 200 and empty.json()["results"] == []


def test_related_routes_query_count_does_not_grow_with_page_size(
    api, pair, django_assert_max_num_queries
):
    org, clinic, _ = pair
    for _ in range(30):
        AssignmentFactory(clinic=clinic, provider=ProviderFactory(organization=org))
    client = api("member", org.pk)
    with django_assert_max_num_queries(2):
        response = client.get(f"{URL}/clinic/{clinic.pk}/staff?limit=100")
    assert len(response.json()["results"]) == 30


def test_embedded_rows_are_the_serializers_output_field_for_field(api, pair):
    """The routes render rows with one reader built per process; what they send must be what
    ``ProviderClinicSerializer`` / ``ClinicStaffSerializer`` (the schema's shapes) would."""
    import json

    from assignments.serializers import ClinicStaffSerializer, ProviderClinicSerializer

    org, clinic, provider = pair
    for index in range(3):
        AssignmentFactory(
            clinic=ClinicFactory(organization=org),
            provider=provider,
            role=["dentist", "hygienist", "assistant"][index],
            is_primary=index == 0,
        )
        AssignmentFactory(clinic=clinic, provider=ProviderFactory(organization=org))
    client = api("member", org.pk)
    for url, serializer_class, name in [
        (f"{URL}/provider/{provider.pk}/clinics", ProviderClinicSerializer, "clinic"),
        (f"{URL}/clinic/{clinic.pk}/staff", ClinicStaffSerializer, "provider"),
    ]:
        rows, page_url = [], f"{url}?limit=2"
        while page_url:  # through the cursor pages: the keyset reads the same values() rows
            body = client.get(page_url).json()
            rows += body["results"]
            page_url = body["next"]
        embedded = {row[name]["id"]: row[name] for row in rows}
        parent = {"provider_id": provider.pk} if name == "clinic" else {"clinic_id": clinic.pk}
        instances = ProviderClinicAssignment.objects.filter(**parent, is_active=True).order_by(
            "-assigned_at", "-id"
        )
        expected = serializer_class(instances, many=True, context={f"{name}s": embedded}).data
        assert len(rows) == 3
        assert json.dumps(rows) == json.dumps(expected)  # same keys, order and values
