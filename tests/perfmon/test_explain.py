"""``manage.py explain_endpoint``: the plans of the queries one GET runs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def explain(*args: str) -> str:
    out = StringIO()
    call_command("explain_endpoint", *args, stdout=out)
    return out.getvalue()


def test_explains_every_query_of_a_list_as_a_tenant_member(tenant_a, tenant_b):
    output = explain("/api/v1/clinics?limit=5", "--org", tenant_a.id)
    assert output.startswith("GET /api/v1/clinics?limit=5 -> 200, 1 database operation(s)")
    assert "#1 (" in output and "plan:" in output
    assert "clinics_clinic" in output
    assert "[FULL SCAN]" not in output  # the tenant's list is served by an index
    assert tenant_a.id not in output.split("plan:")[0]  # parameters are not printed


def test_explains_a_detail_as_platform_admin(tenant_a):
    output = explain(f"/api/v1/organizations/{tenant_a.id}")
    assert "-> 200, 1 database operation(s)" in output


def test_refuses_bad_arguments_and_error_answers():
    with pytest.raises(CommandError, match="must start with"):
        explain("api/v1/clinics")
    with pytest.raises(CommandError, match="not a 24-hex"):
        explain("/api/v1/clinics", "--org", "nope")
    with pytest.raises(CommandError, match="answered 404"):
        explain("/api/v1/clinics/ffffffffffffffffffffffff")
