"""HTTP efficiency and safe concurrent edits: gzip, ETags with 304, If-Match with 412."""

from __future__ import annotations

import gzip
import json
import threading

import pytest
from django.db import connection, connections

from clinics.models import Clinic
from tests.factories import ClinicFactory, OrganizationFactory
from tests.test_cache import endpoints

pytestmark = pytest.mark.django_db


def test_every_get_endpoint_answers_304_to_its_etag_without_queries(
    api, tenant_a, django_assert_num_queries
):
    client = api("member", tenant_a.id)
    for url in endpoints(tenant_a):
        first = client.get(url)
        etag = first["ETag"]
        assert first.status_code == 200 and etag, url
        with django_assert_num_queries(0):
            again = client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304, url
        assert again.content == b""
        assert again["ETag"] == etag


def test_list_revalidation_is_304_without_the_database_even_when_the_entry_is_gone(
    api, tenant_a, django_assert_num_queries
):
    from enterprise.cache import stores

    client = api("member", tenant_a.id)
    etag = client.get("/api/v1/clinics")["ETag"]
    assert etag.startswith('W/"')
    _drop_cached_entries()
    with django_assert_num_queries(0):
        response = client.get("/api/v1/clinics", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert stores.get_store() is not None


def _drop_cached_entries() -> None:
    """Forget stored responses but keep generations, as TTL expiry would."""
    from enterprise.cache import stores

    store = stores.get_store()
    if isinstance(store, stores.RedisStore):
        for key in store.client.scan_iter(match="dos:r:*"):
            store.client.delete(key)
    else:
        store._entries.clear()


def test_a_write_gives_every_affected_endpoint_a_new_etag(api, tenant_a):
    reader = api("member", tenant_a.id)
    clinic = tenant_a.clinics[0]
    summary = f"/api/v1/organizations/{tenant_a.id}/summary"
    urls = [
        f"/api/v1/clinics/{clinic.pk}",
        "/api/v1/clinics",
        f"/api/v1/assignments/provider/{tenant_a.providers[0].pk}/clinics",
    ]
    before = {url: reader.get(url)["ETag"] for url in [*urls, summary]}
    admin = api("org_admin", tenant_a.id)
    admin.patch(f"/api/v1/clinics/{clinic.pk}", {"name": "New name"}, format="json")
    for url in urls:
        response = reader.get(url, HTTP_IF_NONE_MATCH=before[url])
        assert response.status_code == 200, url
        assert response["ETag"] != before[url]
    # A rename changes no count: the summary's validator still holds.
    assert reader.get(summary, HTTP_IF_NONE_MATCH=before[summary]).status_code == 304
    admin.patch(f"/api/v1/clinics/{clinic.pk}", {"status": "inactive"}, format="json")
    response = reader.get(summary, HTTP_IF_NONE_MATCH=before[summary])
    assert response.status_code == 200 and response["ETag"] != before[summary]


def test_detail_has_last_modified_and_honours_if_modified_since(api, tenant_a):
    client = api("member", tenant_a.id)
    url = f"/api/v1/clinics/{tenant_a.clinics[0].pk}"
    first = client.get(url)
    last_modified = first["Last-Modified"]
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert (
        client.get(url, HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2001 00:00:00 GMT").status_code == 200
    )


def test_two_editors_with_the_same_etag_first_wins_second_gets_412(api, tenant_a):
    url = f"/api/v1/clinics/{tenant_a.clinics[0].pk}"
    alice, bob = api("org_admin", tenant_a.id), api("org_admin", tenant_a.id)
    etag = alice.get(url)["ETag"]
    assert bob.get(url)["ETag"] == etag
    first = alice.patch(url, {"name": "Alice's edit"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200
    second = bob.patch(
        url, {"phone": "+1 555 0199", "name": "Bob's edit"}, format="json", HTTP_IF_MATCH=etag
    )
    assert second.status_code == 412
    assert second.json()["error"]["code"] == "precondition_failed"
    assert second["ETag"] == first["ETag"] == alice.get(url)["ETag"]
    stored = Clinic.objects.get(pk=tenant_a.clinics[0].pk)
    assert stored.name == "Alice's edit" and stored.phone != "+1 555 0199"
    # Bob re-reads and retries with the current ETag.
    assert (
        bob.patch(
            url, {"name": "Bob's edit"}, format="json", HTTP_IF_MATCH=second["ETag"]
        ).status_code
        == 200
    )


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_stale_if_match_changes_nothing_for_every_write_method(api, tenant_a, method):
    clinic = tenant_a.clinics[0]
    client = api("org_admin", tenant_a.id)
    body = {"name": "Changed", "code": clinic.code} if method != "delete" else None
    response = getattr(client, method)(
        f"/api/v1/clinics/{clinic.pk}",
        body,
        format="json",
        HTTP_IF_MATCH='"0000000000000000000000000000000"',
    )
    assert response.status_code == 412
    assert response["ETag"] == client.get(f"/api/v1/clinics/{clinic.pk}")["ETag"]
    fresh = Clinic.objects.get(pk=clinic.pk)
    assert (fresh.name, fresh.status, fresh.updated_at) == (
        clinic.name,
        clinic.status,
        clinic.updated_at,
    )


def test_if_match_star_and_writes_without_if_match_still_work(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    url = f"/api/v1/clinics/{tenant_a.clinics[0].pk}"
    assert client.patch(url, {"name": "A"}, format="json", HTTP_IF_MATCH="*").status_code == 200
    assert client.patch(url, {"name": "B"}, format="json").status_code == 200


def test_require_if_match_refuses_unconditional_writes(api, tenant_a, settings):
    settings.REQUIRE_IF_MATCH = True
    client = api("org_admin", tenant_a.id)
    url = f"/api/v1/clinics/{tenant_a.clinics[0].pk}"
    refused = client.patch(url, {"name": "X"}, format="json")
    assert refused.status_code == 428 and refused.json()["error"]["code"] == "precondition_required"
    etag = client.get(url)["ETag"]
    assert client.patch(url, {"name": "X"}, format="json", HTTP_IF_MATCH=etag).status_code == 200


def test_write_responses_carry_the_etag_the_next_get_will_have(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    url = f"/api/v1/clinics/{tenant_a.clinics[0].pk}"
    written = client.patch(url, {"name": "Chained"}, format="json")
    assert written["ETag"] == client.get(url)["ETag"]
    assert (
        client.patch(
            url, {"name": "Again"}, format="json", HTTP_IF_MATCH=written["ETag"]
        ).status_code
        == 200
    )


@pytest.fixture
def big_org():
    org = OrganizationFactory()
    for _ in range(40):
        ClinicFactory(organization=org)
    return org


@pytest.mark.parametrize("warm", [False, True], ids=["miss", "hit"])
def test_large_bodies_are_gzipped_and_decompress_to_the_identical_json(api, big_org, warm):
    client = api("member", big_org.pk)
    plain = client.get("/api/v1/clinics?limit=40")
    if warm:
        assert client.get("/api/v1/clinics?limit=40")["X-Cache"] == "HIT"
    zipped = client.get("/api/v1/clinics?limit=40", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert "Content-Encoding" not in plain
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert int(zipped["Content-Length"]) == len(zipped.content) < len(plain.content) // 4
    assert json.loads(gzip.decompress(zipped.content)) == json.loads(plain.content)
    assert zipped["ETag"] == plain["ETag"]


def test_clients_without_gzip_get_identity_bodies_from_a_gzipped_entry(api, big_org):
    client = api("member", big_org.pk)
    first = client.get("/api/v1/clinics?limit=40", HTTP_ACCEPT_ENCODING="gzip")
    hit = client.get("/api/v1/clinics?limit=40")
    assert hit["X-Cache"] == "HIT" and "Content-Encoding" not in hit
    assert json.loads(hit.content) == json.loads(gzip.decompress(first.content))


def test_identity_hits_follow_a_rebuilt_entry(api, big_org):
    """The inflated body a hit keeps for clients without gzip belongs to that stored entry:
    after a write, the rebuilt entry's hits carry the new representation."""
    client, admin = api("member", big_org.pk), api("org_admin", big_org.pk)
    client.get("/api/v1/clinics?limit=40")
    assert client.get("/api/v1/clinics?limit=40")["X-Cache"] == "HIT"
    clinic = Clinic.objects.filter(organization=big_org).order_by("-created_at", "-id").first()
    assert (
        admin.patch(
            f"/api/v1/clinics/{clinic.pk}", {"name": "Renamed Dental"}, format="json"
        ).status_code
        == 200
    )
    client.get("/api/v1/clinics?limit=40", HTTP_ACCEPT_ENCODING="gzip")
    hit = client.get("/api/v1/clinics?limit=40")
    assert hit["X-Cache"] == "HIT" and "Content-Encoding" not in hit
    names = {row["id"]: row["name"] for row in json.loads(hit.content)["results"]}
    assert names[clinic.pk] == "Renamed Dental"


def test_small_bodies_are_not_compressed(api, tenant_a):
    response = api("member", tenant_a.id).get(
        f"/api/v1/clinics/{tenant_a.clinics[0].pk}", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert len(response.content) < 1024 and "Content-Encoding" not in response
    assert "Accept-Encoding" in response["Vary"]


def test_gzip_q0_is_respected(api, big_org):
    response = api("member", big_org.pk).get(
        "/api/v1/clinics?limit=40", HTTP_ACCEPT_ENCODING="gzip;q=0"
    )
    assert "Content-Encoding" not in response


def test_tenant_data_is_private_and_every_response_has_a_request_id(api, tenant_a, client):
    member = api("member", tenant_a.id)
    for response in (
        member.get("/api/v1/clinics"),
        member.get("/api/v1/clinics"),
        client.get("/api/v1/clinics"),
    ):
        assert response["Cache-Control"] == "private, no-cache"
        assert len(response["X-Request-ID"]) >= 16
    echoed = member.get("/api/v1/clinics", HTTP_X_REQUEST_ID="trace-abc.123")
    assert echoed["X-Request-ID"] == "trace-abc.123"
    forged = member.get("/api/v1/clinics", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert forged["X-Request-ID"] != "bad id\nwith newline"


def test_admin_pages_are_never_compressed(admin_client):
    response = admin_client.get("/admin/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and "Content-Encoding" not in response


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="needs concurrent connections (PostgreSQL)"
)
def test_parallel_patches_with_one_etag_give_exactly_one_200(api):
    org = OrganizationFactory()
    clinic = ClinicFactory(organization=org)
    url = f"/api/v1/clinics/{clinic.pk}"
    for round_ in range(20):
        etag = api("org_admin", org.pk).get(url)["ETag"]
        barrier = threading.Barrier(6)
        statuses: list[int] = []

        def edit(n: int, barrier=barrier, round_=round_, etag=etag, statuses=statuses) -> None:
            try:
                barrier.wait(timeout=10)
                response = api("org_admin", org.pk).patch(
                    url, {"name": f"r{round_}-w{n}"}, format="json", HTTP_IF_MATCH=etag
                )
                statuses.append(response.status_code)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=edit, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(statuses) == [200, 412, 412, 412, 412, 412], (round_, statuses)
    assert connection.vendor == "postgresql"


@pytest.mark.django_db
def test_https_redirect_spares_health_probes_and_metrics_scrapes(settings):
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # middleware is loaded with the setting on
    assert client.get("/api/v1/clinics").status_code == 301
    assert client.get("/api/v1/performance/health").status_code == 200
    assert client.get("/metrics").status_code == 200
