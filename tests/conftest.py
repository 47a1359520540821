"""Shared fixtures: API clients per role, and a two-tenant world to test isolation against."""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from enterprise.api.authentication import issue_token
from enterprise.tenancy import Role
from tests.factories import AssignmentFactory, ClinicFactory, OrganizationFactory, ProviderFactory

requires_sql = pytest.mark.skipif(settings.IS_MONGODB, reason="SQL databases only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The MQL lane compiles queries without a server: only the tests marked for it can run there.
    if settings.IS_MONGODB and not _mongodb_reachable():
        skip = pytest.mark.skip(reason="no MongoDB server: only query-compilation tests run")
        for item in items:
            if "mql" not in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _perfmon_for_tests(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every request in the suite runs under the N+1 guard in ``raise`` mode; metrics go to a tmp dir."""
    from perfmon.conf import perfmon_settings
    from perfmon.recorder import reset_recorder

    settings.PERFMON = {
        **settings.PERFMON,
        "N_PLUS_ONE": "raise",
        "DIRECTORY": str(tmp_path_factory.mktemp("perfmon")),
        "SUMMARY_LOG_SECONDS": 0,
    }
    perfmon_settings.cache_clear()
    reset_recorder()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    fuzz = sys.modules.get("tests.test_fuzz")
    if fuzz is not None and fuzz.REQUESTS["sent"]:
        terminalreporter.write_line(
            f"schemathesis: {fuzz.REQUESTS['sent']} requests "
            f"({fuzz.EXAMPLES} examples per operation and role; "
            f"{fuzz.REQUESTS['reached_objects']} 2xx answers about existing objects)"
        )


def _mongodb_reachable() -> bool:
    import os

    return (
        bool(os.environ.get("MONGODB_URI"))
        and settings.DATABASES["default"]["HOST"] == os.environ["MONGODB_URI"]
    )


def token_for(
    role: Role | str, organization_id: str | None = None, *, subject: str = "tester"
) -> str:
    return issue_token(
        subject=subject, role=Role(role), organization_id=organization_id, ttl_seconds=600
    )


@contextmanager
def keeping_test_connection() -> Iterator[None]:
    """Call the WSGI application directly as Django's test client does: without closing the
    test's database connection (its transaction holds the test's rows) at each request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def wsgi_get(path: str, token: str) -> tuple[str, dict[str, str], bytes]:
    """GET ``path`` through the WSGI application gunicorn serves (the cache's WSGI layer first):
    status line, headers, body."""
    from bench.replay import wsgi_environ
    from enterprise.wsgi import application

    captured: dict = {}

    def start_response(status, headers):
        captured["status"], captured["headers"] = status, dict(headers)

    with keeping_test_connection():
        response = application(
            wsgi_environ("GET", path, [("Authorization", f"Bearer {token}")]), start_response
        )
        body = b"".join(response)
        if hasattr(response, "close"):
            response.close()
    return captured["status"], captured["headers"], body


@pytest.fixture
def api() -> Callable[..., APIClient]:
    """``api(role, org_id)`` -> an APIClient sending that caller's bearer token; ``api()`` is anonymous."""

    def make(role: Role | str | None = None, organization_id: str | None = None) -> APIClient:
        client = APIClient()
        if role is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(role, organization_id)}")
        return client

    return make


@pytest.fixture
def no_throttles(settings) -> None:
    """Abuse limits off, for tests that send hundreds of requests as one caller (the limits
    have their own tests in test_throttling.py)."""
    rates = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@dataclass
class Tenant:
    organization: object
    clinics: list = field(default_factory=list)
    providers: list = field(default_factory=list)
    assignments: list = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.organization.pk

    def object_ids(self) -> set[str]:
        return {self.id} | {o.pk for o in (*self.clinics, *self.providers, *self.assignments)}


def build_tenant(name: str) -> Tenant:
    organization = OrganizationFactory(name=name, slug=name.lower().replace(" ", "-"))
    clinics = [ClinicFactory(organization=organization) for _ in range(2)]
    providers = [ProviderFactory(organization=organization) for _ in range(2)]
    assignments = [
        AssignmentFactory(clinic=clinics[0], provider=providers[0]),
        AssignmentFactory(clinic=clinics[1], provider=providers[0], role="hygienist"),
        AssignmentFactory(clinic=clinics[0], provider=providers[1], role="assistant"),
    ]
    return Tenant(organization, clinics, providers, assignments)


@pytest.fixture
def tenant_a(db) -> Tenant:
    return build_tenant("Tenant A")


@pytest.fixture
def tenant_b(db) -> Tenant:
    return build_tenant("Tenant B")


@pytest.fixture(autouse=True)
def _fresh_response_cache():
    """Each test starts with an empty response cache: the database is rolled back between
    tests but the cache store (a real Redis in scripts/test) is not, so bump the epoch."""
    from enterprise.cache.stores import RedisStore, get_store, reset_store

    reset_store()
    store = get_store()
    store.bump_epoch()
    if isinstance(store, RedisStore):  # breaker state shared through Redis starts closed
        store.client.delete(*(f"breaker:{name}" for name in settings.RESILIENCE["BREAKERS"]))
    yield
    reset_store()
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):  # throttle counters must not leak into the next test
        # Ask SCAN for thousands of keys per reply: earlier tests' entries (unreachable after
        # the epoch bump, alive until their TTL) pile up in the test Redis, and SCAN's default
        # of 10 keys per reply made this teardown thousands of round trips, up to 0.7 s per
        # test late in a run (two thirds of the PostgreSQL lane's time).
        cache.delete_pattern("throttle_*", itersize=10_000)


def shipped_gunicorn_settings() -> dict[str, Any]:
    """gunicorn.conf.py's globals, as gunicorn loads them (it sets defaults in os.environ:
    put them back)."""
    environ = dict(os.environ)
    try:
        return runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(environ)
