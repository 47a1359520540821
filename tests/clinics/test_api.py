"""/api/v1/clinics: CRUD, code uniqueness per organization, archive, filters, cursor pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinics.models import Clinic
from tests.factories import ClinicFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/clinics"


def test_org_admin_creates_in_own_organization_without_naming_it(api):
    org = OrganizationFactory()
    response = api("org_admin", org.pk).post(
        URL, {"name": "Downtown", "code": "DT-1"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["organizationId"] == org.pk
    assert Clinic.objects.get(pk=response.json()["id"]).organization_id == org.pk


def test_platform_admin_must_name_an_existing_organization(api):
    client = api("platform_admin")
    missing = client.post(URL, {"name": "X", "code": "X"}, format="json")
    assert missing.status_code == 400 and "organizationId" in missing.json()["error"]["fields"]
    unknown = client.post(
        URL, {"name": "X", "code": "X", "organizationId": "a" * 24}, format="json"
    )
    assert unknown.json()["error"]["fields"] == {"organizationId": ["Organization not found."]}
    assert Clinic.objects.count() == 0


def test_code_is_unique_within_an_organization_only(api):
    org, other = OrganizationFactory(), OrganizationFactory()
    ClinicFactory(organization=org, code="MAIN")
    client = api("platform_admin")
    dup = client.post(URL, {"name": "A", "code": "MAIN", "organizationId": org.pk}, format="json")
    assert dup.status_code == 409 and "code" in dup.json()["error"]["fields"]
    ok = client.post(URL, {"name": "A", "code": "MAIN", "organizationId": other.pk}, format="json")
    assert ok.status_code == 201


def test_update_to_a_taken_code_is_409_and_changes_nothing(api):
    org = OrganizationFactory()
    ClinicFactory(organization=org, code="ONE")
    second = ClinicFactory(organization=org, code="TWO", name="Second")
    response = api("org_admin", org.pk).patch(
        f"{URL}/{second.pk}", {"code": "ONE", "name": "Renamed"}, format="json"
    )
    assert response.status_code == 409
    second.refresh_from_db()
    assert (second.code, second.name) == ("TWO", "Second")


def test_a_rename_is_three_statements_read_update_audit(api):
    org = OrganizationFactory()
    clinic = ClinicFactory(organization=org)
    with CaptureQueriesContext(connection) as queries:
        response = api("org_admin", org.pk).patch(
            f"{URL}/{clinic.pk}", {"name": "Renamed"}, format="json"
        )
    assert response.status_code == 200, response.content
    statements = [q["sql"] for q in queries.captured_queries]
    # The write's own transaction is a savepoint here only because the test runs inside one;
    # saving adds none (a conflict ends the write, there is nothing to return to).
    assert sum(s.startswith("SAVEPOINT") for s in statements) <= 1, statements
    work = [
        s
        for s in statements
        if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "SET statement_timeout"))
    ]
    assert len(work) == 3, work  # the clinic, its UPDATE, the audit record


def test_organization_of_a_clinic_never_changes(api):
    org, other = OrganizationFactory(), OrganizationFactory()
    clinic = ClinicFactory(organization=org)
    response = api("platform_admin").patch(
        f"{URL}/{clinic.pk}", {"organizationId": other.pk}, format="json"
    )
    assert response.status_code == 200
    clinic.refresh_from_db()
    assert clinic.organization_id == org.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A"}, "code"),
        ({"name": "A", "code": "bad code!"}, "code"),
        ({"name": "A", "code": "X", "status": "closed"}, "status"),
        ({"name": "A", "code": "X", "email": "nope"}, "email"),
        ({"name": "A", "code": "X", "organizationId": "xyz"}, "organizationId"),
        ({"name": None, "code": "X"}, "name"),
        ({"name": True, "code": "X"}, "name"),
    ],
)
def test_invalid_clinic_bodies_are_400(api, body, field):
    org = OrganizationFactory()
    response = api("org_admin", org.pk).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Clinic.objects.count() == 0


def test_delete_archives(api):
    clinic = ClinicFactory()
    response = api("org_admin", clinic.organization_id).delete(f"{URL}/{clinic.pk}")
    assert response.status_code == 200 and response.json()["status"] == "archived"
    clinic.refresh_from_db()
    assert clinic.status == "archived"


def test_filters_combine_and_unknown_parameters_are_400(api):
    org = OrganizationFactory()
    a = ClinicFactory(organization=org, name="North Clinic", status="active")
    ClinicFactory(organization=org, name="South Clinic", status="inactive")
    client = api("member", org.pk)
    response = client.get(f"{URL}?status=active&search=north&organizationId={org.pk}")
    assert [r["id"] for r in response.json()["results"]] == [a.pk]
    assert client.get(f"{URL}?status=bogus").status_code == 400
    # A mistyped filter is not silently dropped (the answer would look filtered).
    typo = client.get(f"{URL}?status=active&organisationId={org.pk}&=1")
    assert typo.status_code == 400
    assert set(typo.json()["error"]["fields"]) == {"organisationId", ""}
    assert "organizationId" in typo.json()["error"]["fields"]["organisationId"][0]
    assert client.get(f"{URL}/{a.pk}?fields=name&limit=5").status_code == 400  # detail: fields only
    assert client.get(f"{URL}/{a.pk}?fields=name").json() == {"id": a.pk, "name": "North Clinic"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/organizations/{org}/summary?limit=5",
        "/api/v1/assignments/clinic/{clinic}/staff?status=active",
        "/api/v1/performance/health?verbose=1",
    ],
)
def test_endpoints_without_a_parameter_refuse_it(api, path):
    org = OrganizationFactory()
    clinic = ClinicFactory(organization=org)
    response = api("org_admin", org.pk).get(path.format(org=org.pk, clinic=clinic.pk))
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) in (["limit"], ["status"], ["verbose"])


def test_cursor_pages_walk_every_row_once(api):
    org = OrganizationFactory()
    created = [ClinicFactory(organization=org).pk for _ in range(7)]
    client = api("member", org.pk)
    seen, url = [], f"{URL}?limit=3"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 3
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert seen == list(reversed(created))


@pytest.mark.parametrize(
    ("limit", "status", "size"), [("0", 400, None), ("abc", 400, None), ("1000", 200, 5)]
)
def test_limit_is_validated_and_clamped(api, limit, status, size):
    org = OrganizationFactory()
    for _ in range(5):
        ClinicFactory(organization=org)
    response = api("member", org.pk).get(f"{URL}?limit={limit}")
    assert response.status_code == status
    if size is not None:
        assert len(response.json()["results"]) == size
    else:
        assert "limit" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "eyJ2IjpbMSwyXX0",
        "eyJ2IjpbIngiLCJ5Il19",
        "W10",
        "e30",
        "%00",
        "eyJ2IjpbIjIwMjYtMDEtMDEiLCInOyAtLSJdfQ",
    ],
)
def test_forged_cursors_are_400_naming_the_parameter(api, cursor):
    org = OrganizationFactory()
    response = api("member", org.pk).get(f"{URL}?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["fields"]
