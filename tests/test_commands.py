"""Management commands: issue_token, seed_demo, ensure_admin."""

from __future__ import annotations

import io

import jwt
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from assignments.models import ProviderClinicAssignment
from clinics.models import Clinic
from organizations.models import Organization
from providers.models import Provider

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_issue_token_prints_a_token_the_api_accepts(client, tenant_a):
    token = _run("issue_token", "--role", "member", "--org", tenant_a.id, "--ttl", "60")
    claims = jwt.decode(token, settings.JWT_SECRET, algorithms=["HS256"])
    assert (claims["roles"], claims["org"]) == (["member"], tenant_a.id)
    assert claims["exp"] - claims["iat"] == 60
    response = client.get("/api/v1/clinics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200 and len(response.json()["results"]) == 2


@pytest.mark.parametrize(
    "args",
    [
        ("--role", "member"),
        ("--role", "org_admin", "--org", "nope"),
        ("--role", "platform_admin", "--ttl", "0"),
    ],
)
def test_issue_token_refuses_bad_arguments(args):
    with pytest.raises(CommandError):
        _run("issue_token", *args)


def test_seed_demo_creates_the_requested_sizes_and_reruns_idempotently():
    args = (
        "seed_demo",
        "--organizations",
        "3",
        "--clinics-per-org",
        "4",
        "--providers-per-org",
        "5",
        "--assignments-per-provider",
        "2",
        "--no-progress",
    )
    _run(*args)
    counts = (
        Organization.objects.count(),
        Clinic.objects.count(),
        Provider.objects.count(),
        ProviderClinicAssignment.objects.count(),
    )
    assert counts == (3, 12, 15, 30)
    assert "0 organizations (3 already there)" in _run(*args)
    assert (Organization.objects.count(), ProviderClinicAssignment.objects.count()) == (3, 30)
    # Every seeded assignment respects the tenancy rules the API enforces.
    for assignment in ProviderClinicAssignment.objects.all():
        assert (
            assignment.organization_id
            == assignment.clinic.organization_id
            == assignment.provider.organization_id
        )


def test_seed_demo_if_empty_does_nothing_when_data_exists(tenant_a):
    assert "nothing seeded" in _run("seed_demo", "--if-empty", "--no-progress")
    assert Organization.objects.count() == 1


def test_ensure_admin_creates_once(monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "correct horse battery staple")
    assert "Created" in _run("ensure_admin", "--username", "boss")
    assert "left unchanged" in _run("ensure_admin", "--username", "boss")
    user = get_user_model().objects.get(username="boss")
    assert user.is_superuser and user.check_password("correct horse battery staple")
