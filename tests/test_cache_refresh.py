"""Pages outdated only by their embedded objects are refreshed from the object cache, not rebuilt.

Runs against the configured store (the real Redis of ``scripts/test``) and,
for the store protocol, the local store too.
"""

from __future__ import annotations

import secrets

import pytest
from rest_framework.test import APIClient

from enterprise.cache import middleware, refresh, stores
from enterprise.cache.entries import CachedResponse, now_ms
from enterprise.cache.gate import prepare
from enterprise.cache.keys import epoch_key, object_generation_key
from enterprise.cache.stores import MISS, WAIT, LocalStore
from tests.conftest import token_for, wsgi_get
from tests.test_cache import cache_disabled

pytestmark = pytest.mark.django_db


def _page_and_rename(tenant, route: str) -> tuple[str, str, dict[str, str]]:
    """The page, the URL of an object embedded in it, and a change of that object."""
    if route == "provider-clinics":
        return (
            f"/api/v1/assignments/provider/{tenant.providers[0].pk}/clinics",
            f"/api/v1/clinics/{tenant.clinics[0].pk}",
            {"name": "Renamed clinic"},
        )
    return (
        f"/api/v1/assignments/clinic/{tenant.clinics[0].pk}/staff",
        f"/api/v1/providers/{tenant.providers[0].pk}",
        {"lastName": "Renamedson"},
    )


@pytest.mark.parametrize("route", ["provider-clinics", "clinic-staff"])
def test_a_change_to_an_embedded_object_refreshes_the_page_without_its_view(
    api, tenant_a, route, django_assert_num_queries
):
    page, embedded, change = _page_and_rename(tenant_a, route)
    reader = api("member", tenant_a.id)
    first = reader.get(page)
    assert first["X-Cache"] == "MISS"
    assert reader.get(page)["X-Cache"] == "HIT"
    assert api("org_admin", tenant_a.id).patch(embedded, change, format="json").status_code == 200

    # One query: the changed object's representation. The view would add the page's own query.
    with django_assert_num_queries(1):
        refreshed = reader.get(page)
    assert refreshed.status_code == 200 and refreshed["X-Cache"] == "MISS"
    assert next(iter(change.values())).encode() in refreshed.content
    with cache_disabled():
        uncached = reader.get(page)
    assert refreshed.content == uncached.content  # byte for byte what the view renders
    assert refreshed["ETag"] != first["ETag"]

    with django_assert_num_queries(0):
        hit = reader.get(page)
    assert hit["X-Cache"] == "HIT"
    assert (hit.content, hit["ETag"]) == (refreshed.content, refreshed["ETag"])
    assert reader.get(page, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    assert reader.get(page, HTTP_IF_NONE_MATCH=hit["ETag"]).status_code == 304


def test_the_wsgi_layer_hands_an_outdated_entry_down_to_be_refreshed(api, tenant_a):
    page, embedded, change = _page_and_rename(tenant_a, "provider-clinics")
    token = token_for("member", tenant_a.id)
    assert wsgi_get(page, token)[1]["X-Cache"] == "MISS"
    assert wsgi_get(page, token)[1]["X-Cache"] == "HIT"
    api("org_admin", tenant_a.id).patch(embedded, change, format="json")
    status, headers, body = wsgi_get(page, token)
    assert (status, headers["X-Cache"]) == ("200 OK", "MISS") and b"Renamed clinic" in body
    status, headers, again = wsgi_get(page, token)
    assert headers["X-Cache"] == "HIT" and again == body


def test_a_refresh_that_fails_leaves_the_answer_to_the_view(api, tenant_a, monkeypatch):
    page, embedded, change = _page_and_rename(tenant_a, "provider-clinics")
    reader = api("member", tenant_a.id)
    reader.get(page)
    api("org_admin", tenant_a.id).patch(embedded, change, format="json")

    def broken(prepared, lookup):
        raise RuntimeError("the store returned something unexpected")

    monkeypatch.setattr(middleware, "refreshed_entry", broken)
    answered = reader.get(page)
    assert answered.status_code == 200 and b"Renamed clinic" in answered.content
    assert reader.get(page)["X-Cache"] == "HIT"  # the view's response was stored as usual


def test_a_page_whose_rows_changed_is_not_refreshed(api, tenant_a, django_assert_num_queries):
    """A new assignment moves the page's own generation: no entry under the new key, the view runs."""
    page = f"/api/v1/assignments/provider/{tenant_a.providers[1].pk}/clinics"  # at clinic 0 only
    reader, admin = api("member", tenant_a.id), api("org_admin", tenant_a.id)
    assert reader.get(page)["X-Cache"] == "MISS"
    admin.patch(f"/api/v1/clinics/{tenant_a.clinics[0].pk}", {"name": "Renamed"}, format="json")
    created = admin.post(
        "/api/v1/assignments",
        {
            "providerId": tenant_a.providers[1].pk,
            "clinicId": tenant_a.clinics[1].pk,
            "role": "assistant",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    with django_assert_num_queries(2):  # the view's page query and the clinics' load
        fresh = reader.get(page)
    assert fresh.content.count(b'"assignmentId"') == 2 and b"Renamed" in fresh.content
    with cache_disabled():
        assert fresh.content == reader.get(page).content


@pytest.fixture(params=["configured", "local"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "generations", max_entries=100)
    return stores.get_store()


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh", "soft-expired"])
def test_the_store_hands_back_an_entry_outdated_by_its_objects_never_as_a_hit(store, fresh):
    dependency = object_generation_key("clinics", secrets.token_hex(12))  # new in every run
    base = f"dos:r:test:outdated-{fresh}"
    lookup = store.lookup([epoch_key()], base, "assignments")
    assert lookup.state == MISS and lookup.outdated is None
    created = now_ms()
    entry = CachedResponse(
        status=200,
        content_type="application/json",
        body=b'{"results":[]}',
        fresh_until_ms=created + (60_000 if fresh else -1_000),
        created_ms=created,
        deps={dependency: "0"},
    )
    store.save(lookup.key, entry, 60, "assignments")
    assert store.lookup([epoch_key()], base, "assignments").entry is not None
    store.bump([dependency], ())

    outdated = store.lookup([epoch_key()], base, "assignments")
    assert outdated.entry is None and outdated.outdated == entry
    # The fresh one's lock was free (MISS); the soft-expired one's is still held by the
    # REBUILD lookup above (WAIT).
    assert outdated.state == (MISS if fresh else WAIT)


def test_a_page_past_its_ttl_is_rebuilt_not_refreshed(
    api, tenant_a, monkeypatch, django_assert_num_queries
):
    page, embedded, change = _page_and_rename(tenant_a, "provider-clinics")
    reader = api("member", tenant_a.id)
    reader.get(page)
    api("org_admin", tenant_a.id).patch(embedded, change, format="json")
    later = now_ms() + 3_600_000  # past the entry's deadline, as the refresh sees it
    monkeypatch.setattr(refresh, "now_ms", lambda: later)
    with django_assert_num_queries(2):  # the view's page query and the renamed clinic's load
        rebuilt = reader.get(page)
    assert rebuilt["X-Cache"] == "MISS" and b"Renamed clinic" in rebuilt.content


def test_a_reader_waiting_on_a_refresh_is_never_given_the_outdated_entry(api, tenant_a):
    """While one worker refreshes a page, the outdated entry is still stored under its key;
    a reader that finds the lock taken waits for the new entry, never takes the old one."""
    page, embedded, change = _page_and_rename(tenant_a, "provider-clinics")
    token = token_for("member", tenant_a.id)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="testserver")
    assert reader.get(page)["X-Cache"] == "MISS"
    api("org_admin", tenant_a.id).patch(embedded, change, format="json")
    # Another worker's lookup: it finds the outdated entry and takes the rebuild lock.
    prepared = prepare(
        path=page, query_string="", host="testserver", authorization=f"Bearer {token}", accept=""
    )
    other = stores.get_store().lookup(prepared.gen_keys, prepared.base, prepared.policy.resource)
    assert other.state == MISS and other.outdated is not None

    answered = reader.get(page)  # waits out the other's lock, then runs the view
    assert answered.status_code == 200 and answered["X-Cache"] == "MISS"
    assert b"Renamed clinic" in answered.content
