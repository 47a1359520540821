"""The bad-input catalogue: every entry is a 4xx naming what is wrong, and the database is unchanged.

Row counts and a checksum of every row of every project table (audit trail
and idempotency keys included) are taken before and after each request.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from django.apps import apps

pytestmark = pytest.mark.django_db

TABLES = [
    "organizations.Organization",
    "clinics.Clinic",
    "providers.Provider",
    "assignments.ProviderClinicAssignment",
    "audit.AuditRecord",
    "enterprise.IdempotencyKey",
]


def database_state() -> dict[str, tuple[int, str]]:
    state = {}
    for label in TABLES:
        rows = list(apps.get_model(label).objects.order_by("pk").values_list())
        state[label] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return state


def nested(depth: int) -> str:
    return '{"name": ' + "[" * depth + "]" * depth + ', "code": "N"}'


def cursor(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode()


# (id, method, path, body: dict | raw str | None, status, field named in the error or None)
# Paths: {clinic} {provider} {other_clinic} are filled from the fixtures.
CATALOGUE = [
    # Size and shape
    ("oversized-body", "post", "/api/v1/clinics", {"name": "x" * 70_000, "code": "BIG"}, 413, None),
    ("deeply-nested-json", "post", "/api/v1/clinics", nested(5000), 400, None),
    (
        "nested-object-as-name",
        "post",
        "/api/v1/clinics",
        {"name": {"a": {"b": {}}}, "code": "N"},
        400,
        "name",
    ),
    ("array-body", "post", "/api/v1/clinics", "[1, 2]", 400, None),
    ("truncated-json", "post", "/api/v1/clinics", '{"name": "a', 400, None),
    (
        "number-as-boolean",
        "patch",
        "/api/v1/assignments/{assignment}",
        {"isActive": 0},
        400,
        "isActive",
    ),
    ("invalid-utf8", "post", "/api/v1/clinics", b'{"name": "\xff\xfe", "code": "U"}', 400, None),
    # Wrong types
    ("number-as-name", "post", "/api/v1/clinics", {"name": 123, "code": "T1"}, 400, "name"),
    ("list-as-code", "post", "/api/v1/clinics", {"name": "A", "code": ["x"]}, 400, "code"),
    (
        "string-as-address",
        "post",
        "/api/v1/clinics",
        {"name": "A", "code": "T2", "address": "x"},
        400,
        "address",
    ),
    (
        "string-as-boolean",
        "post",
        "/api/v1/assignments",
        {
            "providerId": "{free_provider}",
            "clinicId": "{free_clinic}",
            "isPrimary": "yes",
            "role": "dentist",
        },
        400,
        "isPrimary",
    ),
    ("null-name", "patch", "/api/v1/clinics/{clinic}", {"name": None}, 400, "name"),
    (
        "bad-timestamp",
        "post",
        "/api/v1/assignments",
        {"providerId": "{provider}", "clinicId": "{clinic}", "assignedAt": "yesterday"},
        400,
        "assignedAt",
    ),
    # Unknown enum values
    ("unknown-status", "patch", "/api/v1/clinics/{clinic}", {"status": "deleted"}, 400, "status"),
    (
        "unknown-role",
        "post",
        "/api/v1/assignments",
        {"providerId": "{provider}", "clinicId": "{clinic}", "role": "surgeon-king"},
        400,
        "role",
    ),
    ("unknown-status-filter", "get", "/api/v1/clinics?status=deleted", None, 400, "status"),
    # Invalid ObjectIds
    ("short-id-in-path", "get", "/api/v1/clinics/abc", None, 404, None),
    (
        "non-hex-id-in-path",
        "patch",
        "/api/v1/clinics/zzzzzzzzzzzzzzzzzzzzzzzz",
        {"name": "X"},
        404,
        None,
    ),
    ("long-id-in-path", "delete", "/api/v1/clinics/{clinic}00", None, 404, None),
    (
        "bad-id-in-body",
        "post",
        "/api/v1/assignments",
        {"providerId": "nope", "clinicId": "{clinic}"},
        400,
        "providerId",
    ),
    (
        "unknown-id-in-body",
        "post",
        "/api/v1/assignments",
        {"providerId": "0" * 24, "clinicId": "{clinic}", "role": "dentist"},
        400,
        "providerId",
    ),
    (
        "foreign-id-in-body",
        "post",
        "/api/v1/assignments",
        {"providerId": "{provider}", "clinicId": "{other_clinic}", "role": "dentist"},
        400,
        "clinicId",
    ),
    ("bad-id-filter", "get", "/api/v1/assignments?clinicId=12345", None, 400, "clinicId"),
    # Pagination abuse
    ("negative-limit", "get", "/api/v1/clinics?limit=-1", None, 400, "limit"),
    ("text-limit", "get", "/api/v1/clinics?limit=lots", None, 400, "limit"),
    ("huge-offset", "get", "/api/v1/clinics?offset=1000000000000", None, 400, "offset"),
    ("empty-offset", "get", "/api/v1/clinics?offset=", None, 400, "offset"),
    ("non-ascii-digit-limit", "get", "/api/v1/clinics?limit=\uff15", None, 400, "limit"),
    ("negative-offset", "get", "/api/v1/clinics?offset=-5", None, 400, "offset"),
    ("forged-cursor", "get", "/api/v1/clinics?cursor=not-a-cursor", None, 400, "cursor"),
    (
        "cursor-with-injection",
        "get",
        "/api/v1/clinics?cursor=" + cursor('p={"$gt": ""}&r=1'),
        None,
        400,
        "cursor",
    ),
    ("unknown-count-mode", "get", "/api/v1/clinics?count=maybe", None, 400, "count"),
    ("unknown-ordering", "get", "/api/v1/clinics?ordering=password", None, 400, "ordering"),
    ("unknown-fields", "get", "/api/v1/clinics?fields=name,secret", None, 400, "fields"),
    # Operator injection (SQL and NoSQL)
    (
        "operator-object-in-name",
        "post",
        "/api/v1/clinics",
        {"name": {"$gt": ""}, "code": "I1"},
        400,
        "name",
    ),
    (
        "operator-object-in-id",
        "post",
        "/api/v1/assignments",
        {"providerId": {"$ne": None}, "clinicId": "{clinic}"},
        400,
        "providerId",
    ),
    (
        "operator-json-in-id-filter",
        "get",
        '/api/v1/assignments?providerId={"$ne":null}',
        None,
        400,
        "providerId",
    ),
    (
        "sql-in-id-filter",
        "get",
        "/api/v1/assignments?providerId=1' OR '1'='1",
        None,
        400,
        "providerId",
    ),
    ("empty-id-filter", "get", "/api/v1/assignments?providerId=", None, 400, "providerId"),
    (
        "unknown-query-parameter",
        "get",
        "/api/v1/clinics?organisationId=x",
        None,
        400,
        "organisationId",
    ),
    (
        "operator-in-status-filter",
        "get",
        "/api/v1/clinics?status[$ne]=x&status=$ne",
        None,
        400,
        "status[$ne]",
    ),
    # Unicode edge cases in names
    ("nul-in-name", "post", "/api/v1/clinics", {"name": "a\x00b", "code": "U1"}, 400, "name"),
    (
        "escape-sequence-in-name",
        "post",
        "/api/v1/clinics",
        {"name": "\x1b[31mred", "code": "U2"},
        400,
        "name",
    ),
    ("lone-surrogate", "post", "/api/v1/clinics", '{"name": "\\ud800", "code": "U3"}', 400, None),
    (
        "bidi-override",
        "post",
        "/api/v1/clinics",
        {"name": "abc\u202egpj.exe", "code": "U4"},
        400,
        "name",
    ),
    (
        "zero-width-only",
        "post",
        "/api/v1/clinics",
        {"name": "\u200b\u200b", "code": "U5"},
        400,
        "name",
    ),
    ("whitespace-only", "post", "/api/v1/clinics", {"name": " \u3000 ", "code": "U6"}, 400, "name"),
    (
        "name-too-long-in-characters",
        "post",
        "/api/v1/clinics",
        {"name": "\U0001f9b7" * 201, "code": "U7"},
        400,
        "name",
    ),
    ("newline-in-code", "post", "/api/v1/clinics", {"name": "A", "code": "C\nD"}, 400, "code"),
]


@pytest.fixture
def world(tenant_a, tenant_b):
    return {
        "clinic": tenant_a.clinics[0].pk,
        "assignment": tenant_a.assignments[0].pk,
        "provider": tenant_a.providers[0].pk,
        "other_clinic": tenant_b.clinics[0].pk,
        "free_clinic": tenant_a.clinics[1].pk,  # providers[1] is not assigned there
        "free_provider": tenant_a.providers[1].pk,
    }


def fill(value, world):
    if isinstance(value, str):
        for name, pk in world.items():
            value = value.replace("{" + name + "}", pk)
        return value
    if isinstance(value, dict):
        return {k: fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [entry[1:] for entry in CATALOGUE],
    ids=[entry[0] for entry in CATALOGUE],
)
def test_bad_input_is_a_4xx_and_changes_nothing(
    api, tenant_a, world, method, path, body, status, field
):
    client = api("org_admin", tenant_a.id)
    before = database_state()
    path = fill(path, world)
    if body is None:
        response = getattr(client, method)(path)
    elif isinstance(body, dict):
        response = getattr(client, method)(
            path, json.dumps(fill(body, world)), content_type="application/json"
        )
    else:
        raw = body if isinstance(body, bytes) else body.encode()
        response = getattr(client, method)(path, raw, content_type="application/json")
    assert response.status_code == status, response.content[:500]
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    if field is not None:
        assert field in error["fields"], error
    assert database_state() == before


def test_search_with_injection_text_is_an_ordinary_search(api, tenant_a):
    """A search string is data: SQL or operator text finds nothing and changes nothing."""
    client = api("org_admin", tenant_a.id)
    before = database_state()
    for text in ("'; DROP TABLE clinics_clinic; --", '{"$where": "sleep(1000)"}', "%_\\"):
        response = client.get("/api/v1/clinics", {"search": text})
        assert response.status_code == 200 and response.json()["results"] == []
    assert database_state() == before


def test_legitimate_unicode_names_are_kept_exactly(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    for i, name in enumerate(
        ["Zoë's Dentistry", "歯科クリニック", "عيادة الأسنان", "Cafe\u0301 Dental"]
    ):
        response = client.post("/api/v1/clinics", {"name": name, "code": f"UNI-{i}"}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["name"] == __import__("unicodedata").normalize("NFC", name)
