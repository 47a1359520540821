"""The fast query path: keyset cursors, bounded offsets, count modes, field selection, query budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinics.models import Clinic
from enterprise.fields import new_object_id, now_ms
from perfmon import db as perfmon_db
from tests.factories import AssignmentFactory, ClinicFactory, OrganizationFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def _bulk_clinics(org, n: int, *, same_ms: bool = False, start=None) -> list[str]:
    start = start or now_ms() - timedelta(days=1)
    rows = [
        Clinic(
            id=new_object_id(),
            organization=org,
            name=f"Clinic {i:05d}",
            code=f"K{i:05d}",
            created_at=start if same_ms else start + timedelta(milliseconds=i),
            updated_at=start,
        )
        for i in range(n)
    ]
    Clinic.objects.bulk_create(rows, batch_size=1000)
    return [r.id for r in rows]


def _walk(client, url: str) -> list[str]:
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        pages += 1
    return seen


@pytest.mark.parametrize("same_ms", [False, True], ids=["distinct-times", "millisecond-ties"])
def test_cursor_walk_of_5000_rows_sees_every_row_once_in_order(api, same_ms):
    org = OrganizationFactory()
    ids = _bulk_clinics(org, 5000, same_ms=same_ms)
    expected = [
        c.id for c in Clinic.objects.filter(organization=org).order_by("-created_at", "-id")
    ]
    assert set(expected) == set(ids)
    assert _walk(api("member", org.pk), "/api/v1/clinics?limit=100") == expected


def test_rows_inserted_during_a_walk_neither_duplicate_nor_skip_earlier_ones(api):
    org = OrganizationFactory()
    _bulk_clinics(org, 300)
    expected = [
        c.id for c in Clinic.objects.filter(organization=org).order_by("-created_at", "-id")
    ]
    client = api("member", org.pk)
    seen, url, page = [], "/api/v1/clinics?limit=50", 0
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
        page += 1
        if (
            page == 2
        ):  # newer rows arrive mid-walk: they sort before the cursor, so they are not in this walk
            ClinicFactory(organization=org)
            ClinicFactory(organization=org)
    assert seen == expected


def test_previous_links_walk_back_to_the_first_page(api):
    org = OrganizationFactory()
    _bulk_clinics(org, 25, same_ms=True)
    client = api("member", org.pk)
    first = client.get("/api/v1/clinics?limit=10").json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    assert third["next"] is None and len(third["results"]) == 5
    back = client.get(third["previous"]).json()
    assert back["results"] == second["results"]
    assert client.get(back["previous"]).json()["results"] == first["results"]
    assert first["previous"] is None


@pytest.mark.parametrize(
    ("ordering", "key"),
    [("name", "name"), ("-name", "name"), ("code", "code"), ("createdAt", "createdAt")],
)
def test_ordering_parameter_with_id_tie_breaker(api, ordering, key):
    org = OrganizationFactory()
    _bulk_clinics(org, 30, same_ms=True)
    rows = []
    url = f"/api/v1/clinics?limit=7&ordering={ordering}"
    client = api("member", org.pk)
    while url:
        body = client.get(url).json()
        rows += body["results"]
        url = body["next"]
    values = [(r[key], r["id"]) for r in rows]
    assert values == sorted(values, reverse=ordering.startswith("-")) and len(values) == 30


def test_unknown_ordering_is_400_listing_the_choices(api, tenant_a):
    response = api("member", tenant_a.id).get("/api/v1/clinics?ordering=secret")
    assert response.status_code == 400
    assert "createdAt" in response.json()["error"]["fields"]["ordering"][0]


def test_offset_pages_for_old_clients_with_exact_counts(api):
    org = OrganizationFactory()
    _bulk_clinics(org, 45)
    client = api("member", org.pk)
    expected = [
        c.id for c in Clinic.objects.filter(organization=org).order_by("-created_at", "-id")
    ]
    page = client.get("/api/v1/clinics?offset=20&limit=20").json()
    assert [r["id"] for r in page["results"]] == expected[20:40]
    assert (page["count"], page["countIsEstimate"]) == (45, False)
    assert "offset=40" in page["next"] and "offset=0" in page["previous"]
    by_page = client.get("/api/v1/clinics?page=3&limit=20").json()
    assert [r["id"] for r in by_page["results"]] == expected[40:]
    assert by_page["next"] is None


def test_offset_past_the_maximum_depth_is_400_pointing_to_the_cursor(api, tenant_a, settings):
    client = api("member", tenant_a.id)
    response = client.get("/api/v1/clinics?offset=9990&limit=20")
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["fields"]["offset"][0]
    for bad in ("offset=-1", "offset=abc", "page=0", "page=x", "count=maybe", "limit=1.5"):
        assert client.get(f"/api/v1/clinics?{bad}").status_code == 400, bad


def test_count_modes(api):
    org = OrganizationFactory()
    _bulk_clinics(org, 12)
    client = api("member", org.pk)
    assert "count" not in client.get("/api/v1/clinics").json()
    exact = client.get("/api/v1/clinics?count=exact&limit=5").json()
    assert (exact["count"], exact["countIsEstimate"]) == (12, False)
    estimated = client.get("/api/v1/clinics?count=estimated").json()
    assert estimated["count"] == 12  # tenant-scoped: a capped exact count
    none = client.get("/api/v1/clinics?offset=0&count=none").json()
    assert "count" not in none


def test_estimated_count_for_an_unfiltered_platform_list(api, tenant_a, tenant_b):
    body = api("platform_admin").get("/api/v1/clinics?count=estimated").json()
    assert isinstance(body["count"], int) and isinstance(body["countIsEstimate"], bool)
    if not body["countIsEstimate"]:
        assert body["count"] == 4


def test_estimated_counts_are_capped(api, settings):
    settings.PAGINATION = {"MAX_OFFSET": 10_000, "COUNT_CAP": 100}
    org = OrganizationFactory()
    _bulk_clinics(org, 150)
    body = api("member", org.pk).get("/api/v1/clinics?count=estimated").json()
    assert (body["count"], body["countIsEstimate"]) == (100, True)


def test_field_selection_returns_only_those_fields_plus_id(api, tenant_a):
    client = api("member", tenant_a.id)
    body = client.get("/api/v1/clinics?fields=name,status").json()
    assert body["results"] and all(set(r) == {"id", "name", "status"} for r in body["results"])
    nested = client.get(
        f"/api/v1/clinics/{tenant_a.clinics[0].pk}?fields=address,organizationId"
    ).json()
    assert set(nested) == {"id", "address", "organizationId"}
    assert nested["organizationId"] == tenant_a.id
    walked = _walk(client, "/api/v1/clinics?fields=code&limit=1")
    assert sorted(walked) == sorted(c.pk for c in tenant_a.clinics)


@pytest.mark.skipif(
    "connection.vendor == 'mongodb'", reason="reads SQL; the MQL lane asserts the $project"
)
def test_field_selection_loads_only_the_needed_columns(
    api, tenant_a, django_assert_max_num_queries
):
    from django.test.utils import CaptureQueriesContext

    client = api("member", tenant_a.id)
    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/providers?fields=lastName")
    sql = queries.captured_queries[-1]["sql"]
    assert "last_name" in sql and "first_name" not in sql and "npi" not in sql


def test_unknown_fields_are_400_listing_the_allowed_ones(api, tenant_a):
    response = api("member", tenant_a.id).get("/api/v1/clinics?fields=name,secret")
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["fields"][0]
    assert "secret" in message and "organizationId" in message


LIST_AND_DETAIL = [
    ("/api/v1/organizations", 1),
    ("/api/v1/clinics", 1),
    ("/api/v1/providers", 1),
    ("/api/v1/assignments", 1),
    ("/api/v1/assignments/provider/{p0}/clinics", 2),
    ("/api/v1/assignments/clinic/{c0}/staff", 2),
    ("/api/v1/organizations/{org}", 1),
    ("/api/v1/clinics/{c0}", 1),
    ("/api/v1/providers/{p0}", 1),
    ("/api/v1/assignments/{a0}", 1),
    ("/api/v1/organizations/{org}/summary", 1),
    ("/api/v1/clinics?count=exact", 2),
]


@pytest.mark.parametrize("limit", [1, 100])
@pytest.mark.parametrize(("template", "budget"), LIST_AND_DETAIL)
def test_every_endpoint_stays_within_its_round_trip_budget(api, template, budget, limit):
    org = OrganizationFactory()
    clinics = [ClinicFactory(organization=org) for _ in range(3)]
    providers = [ProviderFactory(organization=org) for _ in range(120)]
    assignments = [AssignmentFactory(clinic=clinics[0], provider=p) for p in providers]
    for p in providers[:10]:
        AssignmentFactory(clinic=clinics[1], provider=p)
    url = template.format(org=org.pk, c0=clinics[0].pk, p0=providers[0].pk, a0=assignments[0].pk)
    if template.endswith(("s", "/staff", "/clinics", "=exact")):  # lists: page size 1 and 100
        url += ("&" if "?" in url else "?") + f"limit={limit}"
    client = api("member", org.pk)
    with CaptureQueriesContext(connection) as queries, perfmon_db.capturing() as commands:
        response = client.get(url)
    assert response.status_code == 200, response.content
    if connection.vendor == "mongodb":
        # What went over the wire: every command the pymongo CommandListener saw
        # (perfmon.mongo), getMore and the like included.
        statements = [statement for _vendor, statement, _params in commands]
    else:
        statements = [q["sql"] for q in queries.captured_queries]
    # A request whose time-budget class differs from the connection's current one pays one
    # SET statement_timeout (PostgreSQL; enterprise.resilience.budgets), counted apart here.
    budget_sets = [
        s for s in statements if isinstance(s, str) and s.startswith("SET statement_timeout")
    ]
    assert len(budget_sets) <= (1 if connection.vendor == "postgresql" else 0)
    assert len(statements) - len(budget_sets) <= budget, statements
