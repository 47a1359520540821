"""Every error is the one JSON shape, with the right status, and never a partial write."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from django.urls import path

from enterprise import urls as project_urls
from organizations.models import Organization

pytestmark = pytest.mark.django_db


def _assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v1/organizations/x/y/z", "/api/v2/organizations"]
)
def test_unknown_paths_are_json_404(api, path):
    _assert_error_shape(api("platform_admin").get(path), 404, "not_found")


def test_unknown_api_path_is_json_404_in_debug_too(api, settings):
    settings.DEBUG = True
    _assert_error_shape(api("platform_admin").get("/api/v1/nothing-here"), 404, "not_found")


def test_paths_work_with_and_without_trailing_slash(api, tenant_a):
    client = api("member", tenant_a.id)
    for url in [
        "/api/v1/clinics",
        "/api/v1/clinics/",
        f"/api/v1/clinics/{tenant_a.clinics[0].pk}/",
    ]:
        assert client.get(url).status_code == 200, url


def test_method_not_allowed_is_json_405(api):
    _assert_error_shape(
        api("platform_admin").delete("/api/v1/organizations"), 405, "method_not_allowed"
    )


def test_oversized_body_is_json_413_and_writes_nothing(api, settings):
    body = json.dumps({"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10), "slug": "big"})
    response = api("platform_admin").post(
        "/api/v1/organizations", body, content_type="application/json"
    )
    _assert_error_shape(response, 413, "payload_too_large")
    assert Organization.objects.count() == 0


def test_wrong_content_type_is_json_415(api):
    response = api("platform_admin").post(
        "/api/v1/organizations", "name=x", content_type="text/plain"
    )
    _assert_error_shape(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"name": NaN, "slug": "a"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"name": "\xff\xfe", "slug": "a"}',
        b"\x00",
    ],
)
def test_malformed_json_is_400(api, raw):
    response = api("platform_admin").post(
        "/api/v1/organizations", raw, content_type="application/json"
    )
    _assert_error_shape(response, 400, "malformed_request")
    assert Organization.objects.count() == 0


def test_a_json_array_body_is_a_400_not_a_crash(api):
    response = api("platform_admin").post("/api/v1/organizations", [1, 2], format="json")
    _assert_error_shape(response, 400, "validation_error")


def test_nul_bytes_in_query_parameters_are_400(api, tenant_a):
    response = api("member", tenant_a.id).get("/api/v1/clinics", {"search": "a\x00b"})
    error = _assert_error_shape(response, 400, "validation_error")
    assert "search" in error["fields"]


def test_nul_bytes_in_every_string_field_are_400(api, tenant_a):
    client = api("org_admin", tenant_a.id)
    response = client.post(
        "/api/v1/clinics", {"name": "a\x00", "code": "OK", "phone": "\x00"}, format="json"
    )
    error = _assert_error_shape(response, 400, "validation_error")
    assert {"name", "phone"} <= set(error["fields"])


def _boom(request):
    raise RuntimeError("secret internal detail")


urlpatterns = [path("boom", _boom), *project_urls.urlpatterns]
handler500 = project_urls.handler500  # the project's own handler, under test


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_unhandled_errors_are_a_generic_json_500_without_traceback(client):
    client.raise_request_exception = False
    response = client.get("/boom")
    error = _assert_error_shape(response, 500, "server_error")
    assert "secret internal detail" not in response.content.decode()
    assert "Traceback" not in error["message"]


# Found by schemathesis (tests/test_fuzz.py); pinned here so they stay fixed.


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_api_path_is_a_json_404_for_unsafe_methods_too(method):
    from django.test import Client

    response = getattr(Client(enforce_csrf_checks=True), method)("/api/v1/clinics/%C2%84/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/assignments?isActive=null",
        "/api/v1/assignments?isActive=",
        "/api/v1/clinics?status=",
    ],
)
def test_filter_values_outside_the_schema_are_400(api, tenant_a, query):
    response = api("org_admin", tenant_a.id).get(query)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {query.split("?")[1].split("=")[0]}


def test_timestamps_outside_1900_2999_are_400(api, tenant_a):
    assignment = tenant_a.assignments[0]
    response = api("org_admin", tenant_a.id).patch(
        f"/api/v1/assignments/{assignment.pk}",
        {"assignedAt": "0254-08-15T14:56:13Z"},
        format="json",
    )
    assert response.status_code == 400 and "assignedAt" in response.json()["error"]["fields"]
