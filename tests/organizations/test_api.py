"""/api/v1/organizations: CRUD, validation, archive and summary."""

from __future__ import annotations

import pytest

from organizations.models import Organization
from tests.factories import AssignmentFactory, ClinicFactory, OrganizationFactory, ProviderFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/organizations"


def test_create_returns_camel_case_and_stores_snake_case(api):
    body = {
        "name": "Bright Smiles",
        "slug": "bright-smiles",
        "subscriptionTier": "professional",
        "contactEmail": "hello@bright.example",
        "phone": "+1 555 0100",
        "address": {"line1": "1 Main St", "city": "Boston", "postalCode": "02110", "country": "US"},
        "timezone": "America/New_York",
    }
    response = api("platform_admin").post(URL, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["subscriptionTier"] == "professional"
    assert data["status"] == "active"
    assert data["address"]["postalCode"] == "02110"
    assert len(data["id"]) == 24 and int(data["id"], 16) >= 0
    assert data["createdAt"].endswith("Z") and len(data["createdAt"]) == len(
        "2026-01-01T00:00:00.000Z"
    )
    stored = Organization.objects.get(pk=data["id"])
    assert (stored.subscription_tier, stored.address_city, stored.timezone) == (
        "professional",
        "Boston",
        "America/New_York",
    )


def test_read_only_fields_in_the_body_are_ignored(api):
    forged = {
        "id": "0" * 24,
        "createdAt": "2000-01-01T00:00:00Z",
        "updatedAt": "2000-01-01T00:00:00Z",
    }
    response = api("platform_admin").post(URL, {"name": "A", "slug": "a", **forged}, format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["id"] != forged["id"] and not data["createdAt"].startswith("2000")
    assert not Organization.objects.filter(pk=forged["id"]).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "x"}, "name"),
        ({"name": "A"}, "slug"),
        ({"name": "A", "slug": "has spaces"}, "slug"),
        ({"name": "A", "slug": "a", "status": "deleted"}, "status"),
        ({"name": "A", "slug": "a", "subscriptionTier": "gold"}, "subscriptionTier"),
        ({"name": "A", "slug": "a", "contactEmail": "not-an-email"}, "contactEmail"),
        ({"name": "A", "slug": "a", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "A", "slug": "a", "phone": "call me"}, "phone"),
        ({"name": "A" * 201, "slug": "a"}, "name"),
        ({"name": 42, "slug": "a"}, "name"),
        ({"name": ["A"], "slug": "a"}, "name"),
        ({"name": "A\x00B", "slug": "a"}, "name"),
        ({"name": "A", "slug": "a", "address": {"country": "USA"}}, "address"),
        ({"name": "A", "slug": "a", "address": "Boston"}, "address"),
    ],
)
def test_invalid_bodies_are_400_naming_the_field_and_write_nothing(api, body, field):
    response = api("platform_admin").post(URL, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert Organization.objects.count() == 0


def test_duplicate_slug_is_409(api):
    OrganizationFactory(slug="taken")
    response = api("platform_admin").post(URL, {"name": "B", "slug": "taken"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "slug": ["An organization with this slug already exists."]
    }
    assert Organization.objects.count() == 1


def test_patch_changes_only_the_given_fields(api):
    org = OrganizationFactory(name="Old", phone="+1 555 0000")
    response = api("org_admin", org.pk).patch(f"{URL}/{org.pk}", {"name": "New"}, format="json")
    assert response.status_code == 200
    org.refresh_from_db()
    assert (org.name, org.phone) == ("New", "+1 555 0000")
    assert response.json()["updatedAt"] >= response.json()["createdAt"]


def test_put_replaces_the_representation(api):
    org = OrganizationFactory()
    body = {"name": "Renamed", "slug": org.slug, "address": {"city": "Austin"}}
    response = api("platform_admin").put(f"{URL}/{org.pk}/", body, format="json")
    assert response.status_code == 200
    assert response.json()["address"]["city"] == "Austin"


def test_org_admin_cannot_change_status_or_tier(api):
    org = OrganizationFactory()
    response = api("org_admin", org.pk).patch(
        f"{URL}/{org.pk}", {"subscriptionTier": "enterprise"}, format="json"
    )
    assert response.status_code == 400
    assert "subscriptionTier" in response.json()["error"]["fields"]
    org.refresh_from_db()
    assert org.subscription_tier == "free"


def test_delete_archives_and_is_idempotent(api):
    org = OrganizationFactory()
    client = api("platform_admin")
    for _ in range(2):
        response = client.delete(f"{URL}/{org.pk}")
        assert response.status_code == 200
        assert response.json()["status"] == "archived"
    assert Organization.objects.filter(pk=org.pk, status="archived").exists()


def test_list_is_newest_first_and_filters(api):
    old = OrganizationFactory(name="Alpha Dental", status="active", subscription_tier="free")
    new = OrganizationFactory(
        name="Beta Dental", status="suspended", subscription_tier="enterprise"
    )
    client = api("platform_admin")
    assert [r["id"] for r in client.get(URL).json()["results"]] == [new.pk, old.pk]
    assert [r["id"] for r in client.get(f"{URL}?status=suspended").json()["results"]] == [new.pk]
    assert [r["id"] for r in client.get(f"{URL}?subscriptionTier=free").json()["results"]] == [
        old.pk
    ]
    assert [r["id"] for r in client.get(f"{URL}?search=alpha").json()["results"]] == [old.pk]
    assert client.get(f"{URL}?subscriptionTier=gold").status_code == 400


def test_summary_counts_by_status_and_role(api):
    org = OrganizationFactory()
    clinics = [
        ClinicFactory(organization=org, status=s)
        for s in ("active", "active", "inactive", "archived")
    ]
    providers = [
        ProviderFactory(organization=org, status=s) for s in ("active", "active", "inactive")
    ]
    AssignmentFactory(clinic=clinics[0], provider=providers[0], role="dentist")
    AssignmentFactory(clinic=clinics[1], provider=providers[0], role="dentist")
    AssignmentFactory(clinic=clinics[0], provider=providers[1], role="hygienist")
    AssignmentFactory(clinic=clinics[1], provider=providers[1], role="manager", is_active=False)
    ClinicFactory()  # another tenant's clinic must not count
    response = api("member", org.pk).get(f"{URL}/{org.pk}/summary")
    assert response.status_code == 200
    assert response.json() == {
        "organizationId": org.pk,
        "clinics": {"active": 2, "inactive": 1, "archived": 1, "total": 4},
        "activeProviders": 2,
        "activeAssignments": {"byRole": {"dentist": 2, "hygienist": 1}, "total": 3},
    }


def test_ids_are_case_insensitive_and_malformed_ids_are_404(api):
    org = OrganizationFactory()
    client = api("platform_admin")
    assert client.get(f"{URL}/{org.pk.upper()}").status_code == 200
    for bad in ["123", "zzzzzzzzzzzzzzzzzzzzzzzz", "%00", "1" * 25, "';--"]:
        response = client.get(f"{URL}/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["error"]["code"] == "not_found"
