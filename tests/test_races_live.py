"""Races over real HTTP: a live server (threaded) and client threads released by a barrier.

PostgreSQL only (SQLite serialises writers). Hundreds of races, because a
one-in-fifty interleaving is exactly what a handful of rounds misses.
"""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from django.db import connection

from assignments.models import ProviderClinicAssignment
from clinics.models import Clinic
from tests.conftest import token_for
from tests.factories import ClinicFactory, OrganizationFactory, ProviderFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'", reason="needs concurrent connections (PostgreSQL)"
    ),
]

K = 4  # racers per race


class Http:
    """One keep-alive connection per racer thread to the live server."""

    def __init__(self, base: str, token: str) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def send(self, method: str, path: str, body=None, **headers) -> tuple[int, dict, dict]:
        payload = json.dumps(body) if body is not None else None
        self.conn.request(method, path, payload, {**self.auth, **headers})
        response = self.conn.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), json.loads(data) if data else {}

    def close(self) -> None:
        self.conn.close()


def race(clients: list[Http], send) -> list[tuple[int, dict, dict]]:
    barrier = threading.Barrier(len(clients))

    def run(client: Http):
        barrier.wait(timeout=30)
        return send(client)

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(run, clients))


@pytest.fixture
def racers(live_server):
    org = OrganizationFactory()
    clients = [Http(live_server.url, token_for("org_admin", org.pk)) for _ in range(K)]
    yield org, clients
    for client in clients:
        client.close()


def test_patches_with_one_etag_give_one_200_and_412s_over_200_races(racers):
    org, clients = racers
    clinic = ClinicFactory(organization=org)
    path = f"/api/v1/clinics/{clinic.pk}"
    for round_ in range(200):
        status, headers, _ = clients[0].send("GET", path)
        assert status == 200
        etag = headers["ETag"]
        results = race(
            clients,
            lambda c, i=round_, etag=etag: c.send(
                "PATCH", path, {"name": f"r{i}-{id(c)}"}, **{"If-Match": etag}
            ),
        )
        statuses = sorted(status for status, _, _ in results)
        assert statuses == [200] + [412] * (K - 1), (round_, statuses)
        winner = next(body for status, _, body in results if status == 200)
        assert Clinic.objects.get(pk=clinic.pk).name == winner["name"]


def test_identical_assignment_posts_give_one_201_and_409s(racers):
    org, clients = racers
    for round_ in range(50):
        clinic, provider = ClinicFactory(organization=org), ProviderFactory(organization=org)
        body = {"providerId": provider.pk, "clinicId": clinic.pk, "role": "dentist"}
        results = race(clients, lambda c, body=body: c.send("POST", "/api/v1/assignments", body))
        statuses = sorted(status for status, _, _ in results)
        assert statuses == [201] + [409] * (K - 1), (round_, statuses)
        assert ProviderClinicAssignment.objects.filter(clinic=clinic, is_active=True).count() == 1


def test_concurrent_posts_with_one_idempotency_key_create_one_object(racers):
    org, clients = racers
    for round_ in range(50):
        body = {"name": f"Race {round_}", "code": f"R-{round_}"}
        key = f"race-{round_}"
        results = race(
            clients,
            lambda c, body=body, key=key: c.send(
                "POST", "/api/v1/clinics", body, **{"Idempotency-Key": key}
            ),
        )
        created = [r for r in results if r[0] == 201 and "Idempotent-Replayed" not in r[1]]
        others = [r for r in results if r not in created]
        assert len(created) == 1, (round_, [r[0] for r in results])
        for status, headers, response_body in others:
            # In flight when it arrived (409), or it came after and got the same answer.
            assert status == 409 or (
                headers.get("Idempotent-Replayed") == "true" and response_body == created[0][2]
            ), (round_, status, response_body)
        assert Clinic.objects.filter(organization=org, code=f"R-{round_}").count() == 1
    assert connection.vendor == "postgresql"
