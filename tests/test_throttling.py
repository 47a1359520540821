"""Abuse limits: 429 with Retry-After per caller and per address, for writes and expensive reads."""

from __future__ import annotations

import io
import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from enterprise.api.authentication import issue_token
from enterprise.tenancy import Role

pytestmark = pytest.mark.django_db


def rates(**scopes: str):
    merged = {"writes": "", "writes_ip": "", "expensive": "", "expensive_ip": "", **scopes}
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": merged}
    )


def client_for(tenant, role: str = "org_admin", address: str | None = None) -> APIClient:
    """A caller of its own (subject and address unique to the test: counters outlive tests)."""
    token = issue_token(
        subject=f"caller-{uuid.uuid4().hex}",
        role=Role(role),
        organization_id=tenant.id,
        ttl_seconds=600,
    )
    client = APIClient(
        REMOTE_ADDR=address or f"10.{uuid.uuid4().int % 250}.0.{uuid.uuid4().int % 250}"
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_writes_over_the_callers_rate_are_429_with_retry_after_and_change_nothing(tenant_a):
    clinic = tenant_a.clinics[0]
    caller = client_for(tenant_a)
    with rates(writes="2/min"):
        for n in range(2):
            assert (
                caller.patch(
                    f"/api/v1/clinics/{clinic.pk}", {"name": f"N{n}"}, format="json"
                ).status_code
                == 200
            )
        refused = caller.patch(f"/api/v1/clinics/{clinic.pk}", {"name": "Third"}, format="json")
        other = client_for(tenant_a)  # another caller is not affected
        assert (
            other.patch(
                f"/api/v1/clinics/{clinic.pk}", {"name": "Other"}, format="json"
            ).status_code
            == 200
        )
        assert caller.get(f"/api/v1/clinics/{clinic.pk}").status_code == 200  # reads are not writes

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    clinic.refresh_from_db()
    assert clinic.name == "Other"


def test_one_address_is_limited_across_callers(tenant_a):
    address = f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    with rates(writes_ip="2/min"):
        statuses = [
            client_for(tenant_a, address=address)
            .patch(f"/api/v1/clinics/{tenant_a.clinics[1].pk}", {"name": f"X{n}"}, format="json")
            .status_code
            for n in range(3)
        ]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize(
    "path", ["/api/v1/providers?search=an&limit={m}", "/api/v1/organizations/{org}/summary"]
)
def test_expensive_reads_have_their_own_limit(tenant_a, path):
    caller = client_for(tenant_a, role="member")
    statuses = []
    with rates(expensive="2/min"):
        for n in range(3):
            # Cached answers are never throttled: each request must be a miss.
            call_command("clear_cache", "--all", stdout=io.StringIO())
            statuses.append(caller.get(path.format(m=n + 1, org=tenant_a.id)).status_code)
        plain = [caller.get(f"/api/v1/providers?limit={n + 1}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]
    assert plain == [200, 200, 200]


def test_a_forged_forwarded_for_header_does_not_escape_the_address_limit(tenant_a):
    address = f"203.0.113.{uuid.uuid4().int % 250}"
    with rates(writes_ip="1/min"):
        statuses = [
            client_for(tenant_a, address=address)
            .patch(
                f"/api/v1/clinics/{tenant_a.clinics[1].pk}",
                {"name": f"Y{n}"},
                format="json",
                HTTP_X_FORWARDED_FOR=f"10.9.9.{n}",
            )
            .status_code
            for n in range(2)
        ]
    assert statuses == [200, 429]
