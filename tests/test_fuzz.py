"""Schema fuzzing with schemathesis: every operation, every role, positive and negative data.

In-process against the WSGI application (the whole middleware stack, the
real test database and Redis), a bounded number of examples per operation so
the suite stays fast; ``scripts/fuzz`` runs the same with many more. Checks:
schemathesis' ``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance``, ``response_schema_conformance``,
``negative_data_rejection`` and ``use_after_free``, plus ours: no response
body contains an id of the other tenant.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from tests.conftest import build_tenant, token_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_throttles")]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
ROLES = ("platform_admin", "org_admin", "member", None)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    use_after_free,
]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: the WSGI handler's request signals would close the
    connection that holds the test's transaction (PostgreSQL) between requests."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db):
    """Tenant A (the caller's) and tenant B (whose ids must never show up)."""
    return build_tenant("Fuzz A"), build_tenant("Fuzz B")


def _load_schema():
    """The schema the API serves at /api/v1/schema, generated in-process (no request, no
    database: the module is also collected in lanes without a reachable database)."""
    import json

    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    from enterprise.wsgi import application

    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    loaded.app = application  # calls go through the whole WSGI stack
    loaded.location = "/api/v1/schema"
    return loaded


schema = _load_schema()
#: Ids of both tenants for the running test: generated path ids are swapped for them
#: two times in three, so operations reach real objects (own and foreign), not only 404s.
_KNOWN_IDS: list[str] = []
REQUESTS = {"sent": 0, "reached_objects": 0}


@schema.hook
def map_case(context, case):
    """Positive cases only: a negative case's malformed id must stay malformed."""
    meta = case.meta
    if not _KNOWN_IDS or meta is None or meta.generation.mode.is_negative:
        return case
    for name, value in (case.path_parameters or {}).items():
        if (name == "id" or name.endswith("_id")) and isinstance(value, str):
            pick = sum(map(ord, value)) % (len(_KNOWN_IDS) * 3 // 2 + 1)
            if pick < len(_KNOWN_IDS):
                case.path_parameters[name] = _KNOWN_IDS[pick]
    return case


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not os.environ.get("FUZZ_RANDOM"),  # the suite: same examples every run
)
def test_api_conforms_to_its_schema_for_every_role(case, world):
    tenant_a, tenant_b = world
    foreign = tenant_b.object_ids()
    _KNOWN_IDS[:] = sorted(tenant_a.object_ids() | foreign)
    for role in ROLES:
        headers = {"Accept-Encoding": "identity"}  # the WSGI test client does not gunzip
        if role is not None:
            organization = None if role == "platform_admin" else tenant_a.id
            headers["Authorization"] = f"Bearer {token_for(role, organization)}"
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        REQUESTS["sent"] += 1
        if case.path_parameters and response.status_code < 300:
            REQUESTS["reached_objects"] += 1
        if role not in (None, "platform_admin"):
            leaked = [i for i in foreign if i in response.text]
            assert not leaked, f"{case.method} {case.formatted_path} as {role} leaked {leaked}"
