"""The tenant-isolation matrix, generated from the URL conf.

Every routed API endpoint x every method it serves x every kind of caller
(platform admin, org admin and member of tenant A, no token, forged tokens:
wrong key, ``alg: none``, expired, missing claims, a tenant role without a
tenant) x (tenant A's object, tenant B's object). Each answer must be exactly
the expected status, never a 5xx, and no body seen by a tenant-A caller may
contain any id of tenant B. A new endpoint is picked up automatically; one
whose path parameters or permissions this file cannot interpret fails
``test_every_endpoint_is_understood`` until it is taught here.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass

import jwt
import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tests.conftest import token_for

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    template: str  # "/api/v1/clinics/{id}/"
    view: type
    actions: dict[str, str]  # method -> viewset action ("" for plain API views)
    public: bool = False  # no authentication at all (schema, docs, health)

    @property
    def platform_only_view(self) -> bool:
        return any(p.__name__ == "IsPlatformAdmin" for p in self.view.permission_classes)

    def __str__(self) -> str:
        return self.template


def _template(regex: str) -> str:
    path = regex.lstrip("^").rstrip("$")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
    return path.replace("/?", "/").replace("\\.", ".")


def _walk(patterns, prefix: str = "/"):
    for pattern in patterns:
        regex = _template(str(pattern.pattern.regex.pattern))
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + regex)
        elif isinstance(pattern, URLPattern):
            yield prefix + regex, pattern.callback


def api_endpoints() -> list[Endpoint]:
    endpoints = []
    for template, callback in _walk(get_resolver().url_patterns):
        if not template.startswith("/api/v1/") or "{format}" in template or ".*" in template:
            continue
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view is None:
            endpoints.append(Endpoint(template, type(None), {}))  # not a DRF view: fails below
            continue
        actions = getattr(callback, "actions", None) or {
            m: "" for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)
        }
        initkwargs = getattr(callback, "initkwargs", {})
        public = not initkwargs.get("authentication_classes", view.authentication_classes)
        endpoints.append(Endpoint(template, view, dict(actions), public))
    return endpoints


ENDPOINTS = api_endpoints()
CASES = [(e, m) for e in ENDPOINTS for m in sorted(e.actions)]

# Path parameters: which object of a tenant each one names.
PARAMETERS = {
    "organization": lambda t: t.organization.pk,
    "clinic": lambda t: t.clinics[0].pk,
    "provider": lambda t: t.providers[0].pk,
    "assignment": lambda t: t.assignments[0].pk,
}


def _claims(**overrides):
    claims = {"sub": "matrix", "roles": ["org_admin"], "exp": int(time.time()) + 300}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(claims: dict) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def callers(tenant_a) -> dict[str, str | None]:
    """Caller name -> bearer token (``None``: no Authorization header)."""
    org = tenant_a.id
    return {
        "platform_admin": token_for("platform_admin"),
        "org_admin": token_for("org_admin", org),
        "member": token_for("member", org),
        "anonymous": None,
        "wrong_key": jwt.encode(
            _claims(org=org), "another-secret-that-is-long-enough-0123456789", algorithm="HS256"
        ),
        "alg_none": _unsigned(_claims(org=org, roles=["platform_admin"])),
        "expired": jwt.encode(
            _claims(org=org, exp=int(time.time()) - 60), settings.JWT_SECRET, algorithm="HS256"
        ),
        "missing_claims": jwt.encode(
            _claims(org=org, sub=None), settings.JWT_SECRET, algorithm="HS256"
        ),
        "no_tenant": jwt.encode(_claims(), settings.JWT_SECRET, algorithm="HS256"),
    }


VALID = {"platform_admin", "org_admin", "member"}


def resource_of(endpoint: Endpoint, name: str) -> str | None:
    if name.endswith("_id"):
        return name[: -len("_id")]
    if name == "id":
        return getattr(endpoint.view, "basename", None) or _basename(endpoint.view)
    return None


def _basename(view: type) -> str | None:
    model = getattr(getattr(view, "serializer_class", None), "Meta", None)
    model = getattr(model, "model", None)
    if model is None:
        return None
    name = model._meta.model_name
    return "assignment" if name == "providerclinicassignment" else name


NON_OBJECT_PARAMETERS = {"name": "database", "action": "reset"}
#: Bodies for operations whose empty body means nothing (every other write sends ``{}``).
BODIES = {"/api/v1/performance/cache/clear/": {"all": True}}


def concrete_path(endpoint: Endpoint, tenant) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name in NON_OBJECT_PARAMETERS:
            return NON_OBJECT_PARAMETERS[name]
        return PARAMETERS[resource_of(endpoint, name)](tenant)

    return re.sub(r"\{(\w+)\}", fill, endpoint.template)


def names_an_object(endpoint: Endpoint) -> bool:
    return any(n not in NON_OBJECT_PARAMETERS for n in re.findall(r"\{(\w+)\}", endpoint.template))


def expected_status(endpoint: Endpoint, method: str, caller: str, foreign: bool) -> int:
    if endpoint.public:
        return 200
    if caller not in VALID:
        return 401
    if endpoint.platform_only_view:
        return 200 if caller == "platform_admin" else 403
    action = endpoint.actions[method]
    if method != "get":
        if caller == "member":
            return 403
        if (
            action in getattr(endpoint.view, "platform_only_actions", ())
            and caller != "platform_admin"
        ):
            return 403
    if foreign and caller != "platform_admin":
        return 404
    return {"create": 400, "update": 400}.get(
        action, 200
    )  # empty bodies: 400 where fields are required


def test_every_endpoint_is_understood():
    assert len(ENDPOINTS) >= 15
    for endpoint in ENDPOINTS:
        assert endpoint.view is not type(None), f"{endpoint}: not a DRF view"
        for name in re.findall(r"\{(\w+)\}", endpoint.template):
            assert name in NON_OBJECT_PARAMETERS or resource_of(endpoint, name) in PARAMETERS, (
                f"{endpoint}: teach the matrix what {{{name}}} names"
            )


@pytest.mark.parametrize(("endpoint", "method"), CASES, ids=[f"{m.upper()} {e}" for e, m in CASES])
def test_isolation_matrix(tenant_a, tenant_b, endpoint, method):
    from enterprise.cache.stores import get_store

    foreign_ids = tenant_b.object_ids()
    targets = (
        [(False, tenant_a), (True, tenant_b)] if names_an_object(endpoint) else [(False, tenant_a)]
    )
    seen = []
    for caller, token in callers(tenant_a).items():
        for foreign, tenant in targets:
            client = APIClient()
            if token is not None:
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            path = concrete_path(endpoint, tenant)
            body = BODIES.get(endpoint.template, {})
            response = getattr(client, method)(path, body, format="json")
            if endpoint.platform_only_view and method == "post":
                # A breaker forced open (or reset) by the platform admin: back to closed.
                get_store().client.delete(
                    *(f"breaker:{n}" for n in settings.RESILIENCE["BREAKERS"])
                )
                from enterprise.resilience.breakers import reset_breakers

                reset_breakers()
            status = response.status_code
            want = expected_status(endpoint, method, caller, foreign)
            seen.append((caller, foreign, status))
            assert status == want, (
                method.upper(),
                path,
                caller,
                foreign,
                status,
                response.content[:300],
            )
            if caller != "platform_admin":
                body = response.content.decode(errors="replace")
                leaked = [i for i in foreign_ids if i in body]
                assert not leaked, (method.upper(), path, caller, leaked)
    assert all(status < 500 for _, _, status in seen)
