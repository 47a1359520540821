"""MQL contract: every list and detail endpoint compiles to an index-friendly pipeline.

For each endpoint query: no ``$lookup`` anywhere, the first stage is a
``$match`` whose equality fields are the leading fields of an index declared
on the model (or no ``$match`` at all for an unfiltered platform-wide list,
which the ``created_at, id`` index serves), the ``$sort`` follows that index's
order with ``_id`` as the tie-breaker, and the page size bounds ``$limit``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from tests.conftest import token_for

pytestmark = pytest.mark.mql

ORG = "6b0ac80d5fc57d2d8494c306"
OTHER = "6b0ac80d5fc57d2d8494c3ff"
COLLECTIONS = {
    "organizations_organization": "organizations.Organization",
    "clinics_clinic": "clinics.Clinic",
    "providers_provider": "providers.Provider",
    "assignments_providerclinicassignment": "assignments.ProviderClinicAssignment",
}


def _client(role: str, org: str | None = ORG) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(role, org)}")
    return client


def _index_columns(model_label: str) -> list[list[str]]:
    model = apps.get_model(model_label)
    indexes = [
        [model._meta.get_field(f.lstrip("-")).column for f in index.fields]
        for index in model._meta.indexes
    ]
    for constraint in model._meta.constraints:
        indexes.append([model._meta.get_field(f).column for f in constraint.fields])
    indexes.append([model._meta.pk.column])
    return indexes


def _equality_fields(match: dict) -> set[str]:
    clauses = match.get("$and", [match])
    fields = set()
    for clause in clauses:
        for key, value in clause.items():
            if not key.startswith("$") and (not isinstance(value, dict) or "$in" in value):
                fields.add(key)
    return fields


def _assert_index_friendly(collection: str, pipeline: list[dict], *, limit: int | None) -> None:
    assert not any("$lookup" in stage for stage in pipeline), pipeline
    indexes = _index_columns(COLLECTIONS[collection])
    sort = next((stage["$sort"] for stage in pipeline if "$sort" in stage), None)
    sort_keys = [key for key in (sort or {}) if key != "_id"]
    if "$match" in pipeline[0]:
        equality = _equality_fields(pipeline[0]["$match"])
        assert equality, pipeline[0]
        assert any(_serves(index, equality, sort_keys) for index in indexes), (
            f"no index starts with fields of {equality} then {sort_keys}: {indexes}"
        )
    else:
        assert any(index[: len(sort_keys)] == sort_keys for index in indexes), (sort_keys, indexes)
    if sort is not None:
        assert list(sort)[-1] == "_id", "the sort must end on _id so the cursor is unique"
    if limit is not None:
        limits = [stage["$limit"] for stage in pipeline if "$limit" in stage]
        assert limits and limits[-1] <= limit, pipeline


def _serves(index: list[str], equality: set[str], sort_keys: list[str]) -> bool:
    """The index's leading fields are matched by equality and the next ones are the sort keys.

    Equality fields beyond the prefix (e.g. the tenant on a provider's own
    assignments) are applied to the few documents the index range yields.
    """
    prefix = 0
    while prefix < len(index) and index[prefix] in equality:
        prefix += 1
    if prefix == 0:
        return False
    following = index[prefix : prefix + len(sort_keys)]
    return not sort_keys or following == sort_keys or (prefix == len(index) and index[-1] == "_id")


def _only(captured: Iterable, collection: str) -> list:
    return [q for q in captured if q.collection == collection]


LISTS = [
    ("/api/v1/organizations", "organizations_organization"),
    ("/api/v1/organizations?status=active", "organizations_organization"),
    ("/api/v1/clinics", "clinics_clinic"),
    ("/api/v1/clinics?status=active", "clinics_clinic"),
    (f"/api/v1/clinics?organizationId={ORG}&search=north", "clinics_clinic"),
    ("/api/v1/providers", "providers_provider"),
    ("/api/v1/providers?status=active", "providers_provider"),
    ("/api/v1/assignments", "assignments_providerclinicassignment"),
    (f"/api/v1/assignments/provider/{OTHER}/clinics", "assignments_providerclinicassignment"),
    (f"/api/v1/assignments/clinic/{OTHER}/staff", "assignments_providerclinicassignment"),
]


@pytest.mark.parametrize("role", ["member", "platform_admin"])
@pytest.mark.parametrize(("url", "collection"), LISTS)
def test_list_pipelines_start_on_an_index_and_bound_the_page(
    captured_pipelines, role, url, collection
):
    _client(role, None if role == "platform_admin" else ORG).get(url, {"limit": 50})
    queries = _only(captured_pipelines, collection)
    assert queries, [q.collection for q in captured_pipelines]
    _assert_index_friendly(collection, queries[0].pipeline, limit=51)


@pytest.mark.parametrize(
    ("url", "collection"),
    [
        (f"/api/v1/organizations/{ORG}", "organizations_organization"),
        (f"/api/v1/clinics/{OTHER}", "clinics_clinic"),
        (f"/api/v1/providers/{OTHER}", "providers_provider"),
        (f"/api/v1/assignments/{OTHER}", "assignments_providerclinicassignment"),
    ],
)
def test_detail_pipelines_match_on_id_and_tenant(captured_pipelines, url, collection):
    response = _client("member").get(url)
    assert response.status_code == 404  # nothing stored: only the query is under test
    (query,) = captured_pipelines
    assert query.collection == collection
    match = query.pipeline[0]["$match"]
    fields = _equality_fields(match)
    assert "_id" in fields
    if collection != "organizations_organization":
        assert "organization_id" in fields, "detail reads must be narrowed to the caller's tenant"
    _assert_index_friendly(collection, query.pipeline, limit=21)


def test_member_lists_are_always_narrowed_to_their_organization(captured_pipelines):
    client = _client("member")
    for url, _collection in LISTS:
        client.get(url)
    from bson import ObjectId

    for query in captured_pipelines:
        match = query.pipeline[0].get("$match", {})
        values = [c.get("organization_id", c.get("_id")) for c in match.get("$and", [match])]
        assert ObjectId(ORG) in values, (query.collection, match)


def test_ids_reach_mongodb_as_object_ids(captured_pipelines):
    from bson import ObjectId

    _client("platform_admin").get(f"/api/v1/clinics?organizationId={ORG}")
    match = captured_pipelines[0].pipeline[0]["$match"]
    assert match == {"organization_id": ObjectId(ORG)}


def test_search_is_a_case_insensitive_regex_with_metacharacters_escaped(captured_pipelines):
    _client("member").get("/api/v1/providers", {"search": "a.*(b"})
    match = captured_pipelines[0].pipeline[0]["$match"]
    regexes = [clause for clause in match["$and"] if "$or" in clause][0]["$or"]
    for clause in regexes:
        ((_field, condition),) = clause.items()
        assert condition["$options"] == "i"
        assert condition["$regex"] == r"a\.\*\(b"


def test_the_summary_is_one_aggregate_whose_every_branch_starts_on_an_index(captured_pipelines):
    from bson import ObjectId

    response = _client("member").get(f"/api/v1/organizations/{ORG}/summary")
    assert response.status_code == 404  # nothing stored: the organization's branch found nothing
    (query,) = captured_pipelines  # one round trip for every count
    assert query.collection == "organizations_organization"
    assert query.pipeline[0] == {"$match": {"_id": ObjectId(ORG)}}
    assert not any("$lookup" in stage for stage in query.pipeline)
    branches = {
        stage["$unionWith"]["coll"]: stage["$unionWith"]["pipeline"]
        for stage in query.pipeline
        if "$unionWith" in stage
    }
    assert set(branches) == {
        "clinics_clinic",
        "providers_provider",
        "assignments_providerclinicassignment",
    }
    for collection, pipeline in branches.items():
        match = pipeline[0]["$match"]
        assert match["organization_id"] == ObjectId(ORG), "every count is narrowed to the tenant"
        equality = _equality_fields(match)
        assert any(
            _serves(index, equality, []) for index in _index_columns(COLLECTIONS[collection])
        )
        assert "$group" in pipeline[1]
    assert branches["providers_provider"][0]["$match"]["status"] == "active"
    assert branches["assignments_providerclinicassignment"][0]["$match"]["is_active"] is True


def test_another_tenants_summary_is_a_404_without_a_query(captured_pipelines):
    response = _client("member").get(f"/api/v1/organizations/{OTHER}/summary")
    assert response.status_code == 404
    assert captured_pipelines == []


@pytest.mark.parametrize(
    ("url", "budget"),
    [
        *((url, 2) for url, _collection in LISTS),
        (f"/api/v1/organizations/{ORG}", 1),
        (f"/api/v1/clinics/{OTHER}", 1),
        (f"/api/v1/providers/{OTHER}", 1),
        (f"/api/v1/assignments/{OTHER}", 1),
        (f"/api/v1/organizations/{ORG}/summary", 1),
        ("/api/v1/clinics?limit=100", 2),
        ("/api/v1/providers?limit=1", 2),
    ],
)
def test_every_endpoint_compiles_within_its_round_trip_budget(captured_pipelines, url, budget):
    """Without a server the budget is counted in aggregates sent (every read is one)."""
    _client("member").get(url)
    assert 1 <= len(captured_pipelines) <= budget, [q.collection for q in captured_pipelines]


def test_embedded_objects_are_fetched_in_one_in_query(captured_pipelines):
    from bson import ObjectId

    from clinics.cache import get_clinics_cached
    from enterprise.tenancy import Role, Scope

    scope = Scope(role=Role.MEMBER, organization_id=ORG, subject="t")
    get_clinics_cached(scope=scope, ids=[OTHER, ORG, OTHER])
    (query,) = captured_pipelines
    clauses = query.pipeline[0]["$match"]["$and"]
    assert {"organization_id": ObjectId(ORG)} in clauses
    assert {"_id": {"$in": (ObjectId(OTHER), ObjectId(ORG))}} in clauses
    assert not any("$sort" in stage or "$lookup" in stage for stage in query.pipeline)


def test_field_selection_projects_only_the_selected_columns(captured_pipelines):
    _client("member").get("/api/v1/providers", {"fields": "lastName,status"})
    (query,) = captured_pipelines
    projection = next(stage["$project"] for stage in query.pipeline if "$project" in stage)
    assert set(projection) <= {"_id", "last_name", "status", "created_at", "updated_at"}
    assert "npi" not in projection and "email" not in projection


def test_a_deep_cursor_page_is_the_same_indexed_pipeline_with_a_keyset_bound(captured_pipelines):
    from enterprise.cursors import encode_cursor

    cursor = encode_cursor(["2026-01-01T00:00:00.123000+00:00", OTHER], reverse=False)
    _client("member").get("/api/v1/clinics", {"cursor": cursor, "limit": 20})
    (query,) = captured_pipelines
    _assert_index_friendly("clinics_clinic", query.pipeline, limit=21)
    clauses = query.pipeline[0]["$match"]["$and"]
    keyset = str(next(c for c in clauses if "$or" in c)["$or"])
    assert "created_at" in keyset and "_id" in keyset and "$lt" in keyset
    assert not any("$skip" in stage for stage in query.pipeline), "keyset pages never skip rows"


def test_object_id_columns_keep_their_converter_on_mongodb():
    """MongoDB hands back ``ObjectId``s; ``from_db_value`` turns them into the 24-hex strings
    (SQL reads skip it: ``tests/test_query_plans.py``)."""
    from django.conf import settings
    from django.db import connection

    if not settings.IS_MONGODB:
        pytest.skip("runs in the MongoDB lane (DATABASE_URL=mongodb://...)")
    model = apps.get_model("clinics", "Clinic")
    for field in (model._meta.pk, model._meta.get_field("organization")):
        assert field.from_db_value in field.get_db_converters(connection)
