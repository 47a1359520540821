"""Personal data stays where it belongs: canaries planted through the API never reach logs,
Redis key names, ``/metrics``, the monitoring files, the audit trail or an error body.

Canary values go into every personal field the README lists (provider names,
email and NPI; clinic and organization email and phone), then the test drives
reads, searches by the canary, filters, failed writes that carry the canary
(invalid, duplicate, stale), deactivation and the admin, with every request and
every database operation over budget so the slow logs write all they can.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import AuditRecord
from enterprise.cache.stores import RedisStore, get_store

pytestmark = pytest.mark.django_db

FIRST, LAST = "Qzxcanaryfirst", "Qzxcanarylast"
EMAIL = "qzx.canary.provider@example.org"
NPI = "9988776655"
CLINIC_EMAIL, CLINIC_PHONE = "qzx.canary.clinic@example.org", "+1 555 0199 4321"
ORG_EMAIL, ORG_PHONE = "qzx.canary.org@example.org", "+44 20 7946 0999"
CANARIES = (FIRST, LAST, EMAIL, NPI, CLINIC_EMAIL, CLINIC_PHONE, ORG_EMAIL, ORG_PHONE)
#: A value counts as leaked in any spelling a log might use (case, URL-encoding of @ and spaces).
_SPELLINGS = re.compile(
    "|".join(
        re.escape(v.lower()).replace("@", "(?:@|%40)").replace(r"\ ", r"(?:\ |%20|\+)")
        for v in CANARIES
    )
)


def leaks(text: str) -> list[str]:
    return sorted(set(_SPELLINGS.findall(text.lower())))


@pytest.fixture
def everything_is_slow(settings, no_throttles):
    """Every request and every database operation over its budget: the slow logs write all."""
    settings.PERFMON = {**settings.PERFMON, "BUDGETS": {"default": 0}, "SLOW_QUERY_MS": 0}


def test_canaries_appear_only_in_the_answers_that_are_about_them(
    api, caplog, capfd, everything_is_slow
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.request")  # its 4xx warnings too
    platform = api("platform_admin")
    errors: list[str] = []

    def expect(response, status: int) -> dict:
        assert response.status_code == status, response.content
        if status >= 400:
            errors.append(response.content.decode())
        return response.json()

    # --- plant the canaries ---------------------------------------------------------------------
    org = expect(
        platform.post(
            "/api/v1/organizations",
            {"name": "Canary Dental", "slug": "canary-dental", "contactEmail": ORG_EMAIL},
            format="json",
        ),
        201,
    )
    expect(
        platform.patch(f"/api/v1/organizations/{org['id']}", {"phone": ORG_PHONE}, format="json"),
        200,
    )
    admin = api("org_admin", org["id"])
    clinic = expect(
        admin.post(
            "/api/v1/clinics",
            {"name": "Canary Clinic", "code": "CAN1", "email": CLINIC_EMAIL, "phone": CLINIC_PHONE},
            format="json",
        ),
        201,
    )
    provider = expect(
        admin.post(
            "/api/v1/providers",
            {"firstName": FIRST, "lastName": LAST, "email": EMAIL, "npi": NPI},
            format="json",
        ),
        201,
    )
    assert provider["firstName"] == FIRST  # the answer about the object does carry it
    expect(
        admin.post(
            "/api/v1/assignments",
            {"providerId": provider["id"], "clinicId": clinic["id"], "role": "dentist"},
            format="json",
        ),
        201,
    )

    # --- reads: lists, details, searches and filters by the canary -------------------------------
    member = api("member", org["id"])
    for path in (
        f"/api/v1/providers/{provider['id']}",
        f"/api/v1/providers?search={FIRST}",
        f"/api/v1/providers?search={EMAIL}",
        f"/api/v1/providers?search={LAST}&fields=firstName,lastName,email",
        f"/api/v1/clinics/{clinic['id']}",
        "/api/v1/clinics?search=Canary",
        f"/api/v1/assignments/clinic/{clinic['id']}/staff",
        f"/api/v1/assignments/provider/{provider['id']}/clinics",
        f"/api/v1/organizations/{org['id']}",
        f"/api/v1/organizations/{org['id']}/summary",
    ):
        expect(member.get(path), 200)
        expect(member.get(path), 200)  # and from the cache

    # --- failed writes carrying the canary ------------------------------------------------------
    expect(
        admin.post(
            "/api/v1/providers",
            {"firstName": FIRST, "lastName": LAST, "email": f"{FIRST} at example", "npi": NPI},
            format="json",
        ),
        400,
    )
    expect(
        admin.post(
            "/api/v1/providers",
            {"firstName": FIRST, "lastName": LAST, "npi": f"{NPI}0"},
            format="json",
        ),
        400,
    )
    expect(
        admin.post(
            "/api/v1/clinics",
            {"name": "Again", "code": "CAN1", "email": CLINIC_EMAIL},
            format="json",
        ),
        409,
    )
    expect(
        admin.post(
            "/api/v1/clinics",
            {"name": "Bad", "code": "CAN2", "phone": f"{CLINIC_PHONE} ext {FIRST}"},
            format="json",
        ),
        400,
    )
    expect(
        member.patch(f"/api/v1/providers/{provider['id']}", {"lastName": LAST}, format="json"), 403
    )
    stale = admin.patch(
        f"/api/v1/providers/{provider['id']}",
        {"email": EMAIL},
        format="json",
        HTTP_IF_MATCH='"0-stale"',
    )
    expect(stale, 412)
    expect(api("org_admin", "f" * 24).get(f"/api/v1/providers/{provider['id']}"), 404)
    expect(admin.get(f"/api/v1/providers?email={EMAIL}&bogus={FIRST}"), 400)  # unknown parameters
    expect(admin.get(f"/api/v1/providers?limit={NPI}x"), 400)

    # --- writes that change personal fields, then deactivation ----------------------------------
    expect(
        admin.patch(f"/api/v1/providers/{provider['id']}", {"lastName": f"{LAST}b"}, format="json"),
        200,
    )
    expect(admin.delete(f"/api/v1/providers/{provider['id']}"), 200)

    # --- the admin, as platform staff ----------------------------------------------------------
    staff = get_user_model().objects.create_superuser(
        "canary-staff", "staff@example.org", "pw-0123456789"
    )
    browser = Client()
    browser.force_login(staff)
    assert browser.get(f"/admin/providers/provider/?q={FIRST}").status_code == 200
    assert browser.get(f"/admin/providers/provider/{provider['id']}/change/").status_code == 200

    # --- where the canaries must not be ----------------------------------------------------------
    assert leaks(caplog.text) == [], "in log records"
    captured = capfd.readouterr()
    assert leaks(captured.out + captured.err) == [], "on stdout/stderr"
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert {"perfmon.slow", "django.request"} <= {r.name for r in caplog.records}

    store = get_store()
    if isinstance(store, RedisStore):
        keys = [k.decode() for k in store.client.scan_iter(count=1000)]
        assert keys, "nothing in Redis: the test would prove nothing"
        assert leaks("\n".join(keys)) == [], "in Redis key names"

    metrics = Client().get("/metrics")
    assert metrics.status_code == 200
    assert leaks(metrics.content.decode()) == [], "in /metrics"

    from perfmon.recorder import get_recorder

    get_recorder().flush(log_summary=False)
    from perfmon.conf import perfmon_settings

    directory = Path(perfmon_settings()["DIRECTORY"])
    files = "".join(p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file())
    assert leaks(files) == [], "in the monitoring files"

    trail = "".join(str(r.changes) for r in AuditRecord.objects.filter(organization_id=org["id"]))
    assert trail, "no audit records: the test would prove nothing"
    assert leaks(trail) == [], "in the audit trail"

    assert len(errors) >= 8
    assert leaks("\n".join(errors)) == [], "in error bodies"


def test_the_detector_finds_the_spellings_a_log_would_use():
    assert leaks("GET /api/v1/providers?search=qzx.canary.provider%40example.org") == [
        EMAIL.lower().replace("@", "%40")
    ]
    assert leaks("phone +1%20555%200199%204321") != []
    assert leaks(f"{FIRST.upper()}") == [FIRST.lower()]
    assert leaks("nothing personal here") == []
