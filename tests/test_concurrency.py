"""Racing writes that would break a uniqueness rule: one wins (201), the others get 409, never a 500.

Runs against PostgreSQL (real concurrent connections); SQLite serialises
writers, so it is skipped there.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from assignments.models import ProviderClinicAssignment
from organizations.models import Organization
from tests.factories import ClinicFactory, OrganizationFactory, ProviderFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'", reason="needs concurrent connections (PostgreSQL)"
    ),
]


def _race(requests: int, send) -> list[int]:
    barrier = threading.Barrier(requests)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            status = send()
            with lock:
                statuses.append(status)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(statuses)


@pytest.mark.parametrize("round_", range(5))
def test_concurrent_identical_assignments_give_one_201_and_409s(api, round_):
    org = OrganizationFactory()
    clinic, provider = ClinicFactory(organization=org), ProviderFactory(organization=org)
    body = {"providerId": provider.pk, "clinicId": clinic.pk, "role": "dentist"}

    def send() -> int:
        return api("org_admin", org.pk).post("/api/v1/assignments", body, format="json").status_code

    statuses = _race(6, send)
    assert statuses == [201, 409, 409, 409, 409, 409]
    assert (
        ProviderClinicAssignment.objects.filter(
            provider=provider, clinic=clinic, is_active=True
        ).count()
        == 1
    )


def test_concurrent_organizations_with_one_slug_give_one_201(api):
    def send() -> int:
        body = {"name": "Race", "slug": "race"}
        return api("platform_admin").post("/api/v1/organizations", body, format="json").status_code

    assert _race(6, send) == [201, 409, 409, 409, 409, 409]
    assert Organization.objects.filter(slug="race").count() == 1
    assert connection.vendor == "postgresql"
