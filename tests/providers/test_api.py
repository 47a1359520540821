"""/api/v1/providers: CRUD, NPI validation, deactivation ends assignments."""

from __future__ import annotations

import pytest

from assignments.models import ProviderClinicAssignment
from providers.models import Provider
from tests.factories import AssignmentFactory, OrganizationFactory, ProviderFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/providers"


def test_create_and_read_back(api):
    org = OrganizationFactory()
    body = {
        "firstName": "Ana",
        "lastName": "Silva",
        "email": "ana@example.com",
        "npi": "1234567893",
    }
    response = api("org_admin", org.pk).post(URL, body, format="json")
    assert response.status_code == 201
    detail = api("member", org.pk).get(f"{URL}/{response.json()['id']}")
    assert detail.json() | {"specialty": ""} == response.json() | {"specialty": ""}
    assert detail.json()["npi"] == "1234567893"


@pytest.mark.parametrize("npi", ["123", "12345678901", "abcdefghij", 1234567890])
def test_npi_must_be_ten_digits(api, npi):
    org = OrganizationFactory()
    response = api("org_admin", org.pk).post(
        URL, {"firstName": "A", "lastName": "B", "npi": npi}, format="json"
    )
    assert response.status_code == 400
    assert "npi" in response.json()["error"]["fields"]
    assert Provider.objects.count() == 0


def test_npi_is_optional(api):
    org = OrganizationFactory()
    response = api("org_admin", org.pk).post(
        URL, {"firstName": "A", "lastName": "B"}, format="json"
    )
    assert response.status_code == 201 and response.json()["npi"] == ""


def test_delete_deactivates_and_ends_active_assignments(api):
    assignment = AssignmentFactory()
    provider = assignment.provider
    response = api("org_admin", provider.organization_id).delete(f"{URL}/{provider.pk}")
    assert response.status_code == 200 and response.json()["status"] == "inactive"
    assignment.refresh_from_db()
    assert assignment.is_active is False and assignment.ended_at is not None
    assert ProviderClinicAssignment.objects.filter(provider=provider, is_active=True).count() == 0


def test_search_covers_names_and_email(api):
    org = OrganizationFactory()
    match = ProviderFactory(organization=org, last_name="Okafor")
    ProviderFactory(organization=org, last_name="Smith")
    response = api("member", org.pk).get(f"{URL}?search=okaf")
    assert [r["id"] for r in response.json()["results"]] == [match.pk]


def test_search_with_regex_and_sql_metacharacters_is_literal(api):
    org = OrganizationFactory()
    ProviderFactory(organization=org, last_name="Smith")
    for term in [".*", "%", "_", "'; --", "(", "[a-z]", "\\"]:
        response = api("member", org.pk).get(URL, {"search": term})
        assert response.status_code == 200, term
        assert response.json()["results"] == [], term
