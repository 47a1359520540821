"""Idempotency-Key on POST: replay, body mismatch, concurrent duplicate, scoping, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from audit.models import AuditRecord
from clinics.models import Clinic
from enterprise.models import IdempotencyKey

pytestmark = pytest.mark.django_db
URL = "/api/v1/clinics"
BODY = {"name": "Harbor", "code": "H-1"}


def post(client, body=BODY, key="key-1"):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_replay_returns_the_original_answer_and_creates_nothing(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    first = post(client)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    before = (Clinic.objects.count(), AuditRecord.objects.count())
    again = post(client)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again["Last-Modified"] == first["Last-Modified"]
    assert (Clinic.objects.count(), AuditRecord.objects.count()) == before


def test_same_key_with_another_body_is_422(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    assert post(client).status_code == 201
    response = post(client, {**BODY, "name": "Other"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Clinic.objects.filter(name="Other").count() == 0


def test_duplicate_while_the_first_is_in_flight_is_409(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    assert post(client).status_code == 201
    # What a concurrent duplicate sees: the reservation committed, the answer not yet.
    IdempotencyKey.objects.filter(key="key-1").update(state="processing", body="")
    response = post(client)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_use"


def test_abandoned_reservation_is_taken_over_after_the_lock(api, tenant_a, settings):
    client = api("org_admin", tenant_a.id)
    old = IdempotencyKey.objects.create(
        scope=f"org:{tenant_a.id}",
        subject="tester",
        key="key-1",
        fingerprint="x" * 64,
        expires_at=IdempotencyKey._meta.get_field("created_at").default() + timedelta(days=1),
    )
    IdempotencyKey.objects.filter(pk=old.pk).update(
        created_at=old.created_at - timedelta(seconds=settings.IDEMPOTENCY["LOCK_SECONDS"] + 1)
    )
    assert post(client).status_code == 201
    assert IdempotencyKey.objects.get(key="key-1").state == "done"


def test_keys_are_scoped_per_tenant_and_caller(api, tenant_a, tenant_b):
    assert post(api("org_admin", tenant_a.id)).status_code == 201
    other_tenant = post(api("org_admin", tenant_b.id))
    assert other_tenant.status_code == 201 and "Idempotent-Replayed" not in other_tenant
    assert Clinic.objects.filter(code="H-1").count() == 2


def test_a_failed_create_releases_the_key(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    taken = {"name": "Dup", "code": tenant_a.clinics[0].code}
    assert post(client, taken).status_code == 409
    assert post(client, {"name": "", "code": "Z"}, key="key-2").status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert post(client, BODY).status_code == 201  # same key, fixed request


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9"])
def test_malformed_keys_are_400_naming_the_header(api, tenant_a, key):
    response = api("org_admin", tenant_a.id).post(
        URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1")
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Clinic.objects.filter(code="H-1").exists()


def test_expired_keys_are_reusable_and_purged(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    assert post(client).status_code == 201
    IdempotencyKey.objects.update(expires_at=IdempotencyKey.objects.get().created_at)
    response = post(client, {"name": "Later", "code": "L-1"})
    assert response.status_code == 201 and response.json()["name"] == "Later"
    IdempotencyKey.objects.update(expires_at=IdempotencyKey.objects.get().created_at)
    call_command("purge_idempotency_keys")
    assert not IdempotencyKey.objects.exists()
