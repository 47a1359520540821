"""Lists keyed on membership: a rename refreshes the rows from the object cache, never serves them stale.

A clinic or provider list whose parameters select and order rows only by
counted or immutable fields (``CachePolicy.row_objects``) is keyed on the
scope's counts generation and records the list generation it was built under;
after a write it is refreshed row by row. Everything else about the list (what
a create, an archive, a search or a bulk update must change) is checked here
against the uncached view. Runs against the configured store (the real Redis
of ``scripts/test``) and the local store.
"""

from __future__ import annotations

import pytest

from clinics.models import Clinic
from enterprise.cache import middleware, stores
from tests.conftest import token_for, wsgi_get
from tests.test_cache import cache_disabled

pytestmark = pytest.mark.django_db

LIST = "/api/v1/clinics"


@pytest.fixture(params=["configured", "local"])
def either_store(request, tmp_path, monkeypatch):
    """The test runs on the configured store and on the local one (no Redis)."""
    if request.param == "local":
        monkeypatch.setattr(stores, "_store", stores.LocalStore(tmp_path / "generations", 100))


@pytest.fixture
def refreshes(monkeypatch) -> list[str]:
    """The keys of the entries refreshed (instead of rebuilt by their view) during the test."""
    done: list[str] = []
    original = middleware.refreshed_entry

    def spy(prepared, lookup):
        entry = original(prepared, lookup)
        if entry is not None:
            done.append(lookup.key)
        return entry

    monkeypatch.setattr(middleware, "refreshed_entry", spy)
    return done


def _uncached(client, url: str) -> bytes:
    with cache_disabled():
        return client.get(url).content


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?limit=1",
        "?status=active&count=exact",
        "?ordering=createdAt",
        "?fields=name,code",
        "?offset=0&limit=20",
    ],
)
def test_a_rename_refreshes_a_membership_list_from_the_object_cache(
    api, tenant_a, query, either_store, refreshes, django_assert_max_num_queries
):
    url = f"{LIST}{query}"
    reader, admin = api("member", tenant_a.id), api("org_admin", tenant_a.id)
    first = reader.get(url)
    assert first["X-Cache"] == "MISS" and reader.get(url)["X-Cache"] == "HIT"
    renamed = tenant_a.clinics[1] if "limit=1" not in query else tenant_a.clinics[-1]
    assert (
        admin.patch(f"{LIST}/{renamed.pk}", {"name": "Renamed clinic"}, format="json").status_code
        == 200
    )

    # At most the renamed clinic's load: no page query, no count.
    with django_assert_max_num_queries(1):
        refreshed = reader.get(url)
    assert refreshed.status_code == 200 and refreshed["X-Cache"] == "MISS"
    assert len(refreshes) == 1 and b"Renamed clinic" in refreshed.content
    assert refreshed.content == _uncached(reader, url)  # byte for byte what the view renders
    assert refreshed["ETag"] != first["ETag"]
    with django_assert_max_num_queries(0):
        hit = reader.get(url)
    assert hit["X-Cache"] == "HIT" and hit.content == refreshed.content
    assert reader.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    assert reader.get(url, HTTP_IF_NONE_MATCH=hit["ETag"]).status_code == 304


def test_after_one_refresh_a_page_is_outdated_only_by_its_own_rows(api, tenant_a):
    """The view's entry watches the whole list generation; a refreshed one its rows only."""
    reader, admin = api("member", tenant_a.id), api("org_admin", tenant_a.id)
    page = f"{LIST}?limit=1"  # the newest clinic only
    newest, other = tenant_a.clinics[-1], tenant_a.clinics[0]
    reader.get(page)
    admin.patch(f"{LIST}/{other.pk}", {"name": "Other renamed"}, format="json")
    assert reader.get(page)["X-Cache"] == "MISS"  # refreshed: the entry watched every clinic
    admin.patch(f"{LIST}/{other.pk}", {"name": "Other renamed again"}, format="json")
    assert reader.get(page)["X-Cache"] == "HIT"  # not on this page
    admin.patch(f"{LIST}/{newest.pk}", {"phone": "+15550001111"}, format="json")
    answer = reader.get(page)
    assert answer["X-Cache"] == "MISS" and b"+15550001111" in answer.content


def test_writes_that_change_membership_rebuild_the_list(api, tenant_a, either_store):
    """A create, an archive (a counted field) and a status filter: new key, the view runs."""
    reader, admin = api("member", tenant_a.id), api("org_admin", tenant_a.id)
    active = f"{LIST}?status=active&count=exact"
    assert reader.get(active).json()["count"] == 2
    created = admin.post(LIST, {"name": "Third", "code": "C3"}, format="json")
    assert created.status_code == 201, created.content
    after_create = reader.get(active)
    assert after_create["X-Cache"] == "MISS" and after_create.json()["count"] == 3
    assert after_create.content == _uncached(reader, active)

    archived = admin.delete(f"{LIST}/{tenant_a.clinics[0].pk}")
    assert archived.status_code == 200
    after_archive = reader.get(active).json()
    assert after_archive["count"] == 2
    assert tenant_a.clinics[0].pk not in {row["id"] for row in after_archive["results"]}


@pytest.mark.parametrize("route", ["offset", "cursor"])
def test_a_count_follows_creates(api, tenant_a, route):
    """The row count is cached apart from the page; a create must move it."""
    reader, admin = api("member", tenant_a.id), api("org_admin", tenant_a.id)
    url = f"{LIST}?count=exact" + ("&offset=0" if route == "offset" else "")
    search = f"{LIST}?count=exact&search=Counted"
    assert reader.get(url).json()["count"] == 2
    assert reader.get(search).json()["count"] == 0
    admin.post(LIST, {"name": "Counted", "code": "CNT"}, format="json")
    assert reader.get(url).json()["count"] == 3
    assert reader.get(search).json()["count"] == 1
    # A rename that makes a clinic match a search changes that search's count too.
    admin.patch(f"{LIST}/{tenant_a.clinics[0].pk}", {"name": "Counted too"}, format="json")
    assert reader.get(search).json()["count"] == 2


@pytest.mark.parametrize("query", ["?search=Renamed", "?ordering=name", "?ordering=-updatedAt"])
def test_lists_that_read_renamed_fields_are_not_membership_keyed(api, tenant_a, query):
    url = f"{LIST}{query}"
    reader, admin = api("member", tenant_a.id), api("org_admin", tenant_a.id)
    reader.get(url)
    assert reader.get(url)["X-Cache"] == "HIT"
    admin.patch(f"{LIST}/{tenant_a.clinics[0].pk}", {"name": "Renamed A"}, format="json")
    answer = reader.get(url)
    assert answer["X-Cache"] == "MISS" and answer.content == _uncached(reader, url)
    assert b"Renamed A" in answer.content


def test_a_bulk_update_names_no_row_but_still_reaches_every_membership_list(api, tenant_a):
    reader = api("member", tenant_a.id)
    reader.get(LIST)  # stored, watching the list generation
    reader.get(LIST)
    # Refresh once so the entry records its rows' own generations only.
    api("org_admin", tenant_a.id).patch(
        f"{LIST}/{tenant_a.clinics[0].pk}", {"name": "First"}, format="json"
    )
    reader.get(LIST)
    assert reader.get(LIST)["X-Cache"] == "HIT"
    Clinic.objects.filter(organization_id=tenant_a.id).update(name="Bulk renamed")
    answer = reader.get(LIST)
    assert answer.content.count(b"Bulk renamed") == 2
    assert answer.content == _uncached(reader, LIST)


def test_a_rename_during_the_views_query_is_not_served_stale(api, tenant_a, monkeypatch):
    """The entry records the list generation read *before* the view: a write that lands after
    the query but before the store outdates it."""
    reader, admin = api("member", tenant_a.id), api("org_admin", tenant_a.id)
    store_entry = middleware.ResponseCacheMiddleware._store
    clinic = tenant_a.clinics[0]

    def rename_then_store(*args, **kwargs):
        monkeypatch.setattr(middleware.ResponseCacheMiddleware, "_store", staticmethod(store_entry))
        admin.patch(f"{LIST}/{clinic.pk}", {"name": "Renamed meanwhile"}, format="json")
        return store_entry(*args, **kwargs)

    monkeypatch.setattr(
        middleware.ResponseCacheMiddleware, "_store", staticmethod(rename_then_store)
    )
    stale = reader.get(LIST)
    assert b"Renamed meanwhile" not in stale.content  # read before the rename
    answer = reader.get(LIST)
    assert b"Renamed meanwhile" in answer.content and answer["X-Cache"] == "MISS"


def test_other_tenants_rows_never_enter_a_refreshed_page(api, tenant_a, tenant_b):
    reader_a = api("member", tenant_a.id)
    reader_a.get(LIST)
    api("org_admin", tenant_b.id).patch(
        f"{LIST}/{tenant_b.clinics[0].pk}", {"name": "B renamed"}, format="json"
    )
    api("org_admin", tenant_a.id).patch(
        f"{LIST}/{tenant_a.clinics[0].pk}", {"name": "A renamed"}, format="json"
    )
    answer = reader_a.get(LIST)
    ids = {row["id"] for row in answer.json()["results"]}
    assert ids == {c.pk for c in tenant_a.clinics} and b"B renamed" not in answer.content


def test_the_wsgi_layer_refreshes_a_membership_list(api, tenant_a, refreshes):
    token = token_for("member", tenant_a.id)
    assert wsgi_get(LIST, token)[1]["X-Cache"] == "MISS"
    assert wsgi_get(LIST, token)[1]["X-Cache"] == "HIT"
    api("org_admin", tenant_a.id).patch(
        f"{LIST}/{tenant_a.clinics[0].pk}", {"name": "Renamed via WSGI"}, format="json"
    )
    status, headers, body = wsgi_get(LIST, token)
    assert (status, headers["X-Cache"]) == ("200 OK", "MISS") and b"Renamed via WSGI" in body
    assert len(refreshes) == 1
    assert wsgi_get(LIST, token)[1]["X-Cache"] == "HIT"


def test_the_provider_list_is_membership_keyed_too(
    api, tenant_a, refreshes, django_assert_max_num_queries
):
    url = "/api/v1/providers?limit=20"
    reader = api("member", tenant_a.id)
    reader.get(url)
    api("org_admin", tenant_a.id).patch(
        f"/api/v1/providers/{tenant_a.providers[0].pk}", {"lastName": "Renamedson"}, format="json"
    )
    with django_assert_max_num_queries(1):
        refreshed = reader.get(url)
    assert refreshes and b"Renamedson" in refreshed.content
    assert refreshed.content == _uncached(reader, url)


def test_membership_parameters_are_derived_from_counted_and_immutable_fields():
    """Only filters and orderings on fields that counted writes bump (or no write changes)."""
    from clinics.views import ClinicViewSet
    from enterprise.api.pagination import PAGINATION_PARAMS
    from providers.views import ProviderViewSet

    for viewset in (ClinicViewSet, ProviderViewSet):
        policy = viewset.cache_policy_for("list")
        assert policy.membership_params == {"organizationId", "status"} | PAGINATION_PARAMS
        assert policy.membership_orderings == {"", "createdAt", "-createdAt"}
        assert not policy.membership_only([("search", "an")])
        assert not policy.membership_only([("ordering", "-updatedAt")])
        assert policy.membership_only([("status", "active"), ("limit", "5"), ("ordering", "")])
