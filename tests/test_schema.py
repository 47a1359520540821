"""The OpenAPI schema validates and documents every routed endpoint."""

from __future__ import annotations

import io

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_validates_and_lists_every_route(client):
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = yaml.safe_load(out.getvalue())
    paths = set(schema["paths"])
    for expected in [
        "/api/v1/organizations/",
        "/api/v1/organizations/{id}/",
        "/api/v1/organizations/{id}/summary/",
        "/api/v1/clinics/",
        "/api/v1/providers/{id}/",
        "/api/v1/assignments/provider/{provider_id}/clinics/",
        "/api/v1/assignments/clinic/{clinic_id}/staff/",
    ]:
        assert expected in paths, sorted(paths)
    assert client.get("/api/v1/schema").status_code == 200
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
