"""The performance page in the admin: staff see it, others do not; breaker buttons for superusers only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from enterprise.resilience.breakers import breaker
from perfmon.models import OperatorAction

pytestmark = pytest.mark.django_db
URL = "/admin/performance/"


@pytest.fixture(autouse=True)
def _close_breakers_after():
    yield
    breaker("database").reset()


def test_the_dashboard_renders_for_superusers_with_every_section(
    admin_client, api, tenant_a, recorder
):
    api("member", tenant_a.id).get("/api/v1/clinics")
    response = admin_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    for section in (
        "Routes against their P95 budget",
        "Last hour, per minute",
        "Response cache",
        "Circuit breakers",
        "Recent slow operations",
    ):
        assert section in page
    assert "GET /api/v1/clinics" in page
    assert "<polyline" in page and '<script src="http' not in page  # no CDN
    assert 'value="force-open"' in page
    assert 'href="/admin/performance/"' in admin_client.get("/admin/").content.decode()


def test_staff_see_it_without_breaker_buttons(client):
    staff = get_user_model().objects.create_user(
        "ops-viewer", password="pw-12345-long", is_staff=True
    )
    client.force_login(staff)
    response = client.get(URL)
    assert response.status_code == 200
    assert 'value="force-open"' not in response.content.decode()
    assert client.post(URL, {"breaker": "database", "action": "force-open"}).status_code == 403
    assert breaker("database").state == "closed"


def test_non_staff_and_anonymous_are_sent_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    user = get_user_model().objects.create_user("clinic-user", password="pw-12345-long")
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_superuser_forces_a_breaker_open_and_resets_it_audited(admin_client):
    response = admin_client.post(URL, {"breaker": "database", "action": "force-open"})
    assert response.status_code == 302
    assert breaker("database").state == "open"
    admin_client.post(URL, {"breaker": "database", "action": "reset"})
    assert breaker("database").state == "closed"
    actions = list(OperatorAction.objects.order_by("at").values_list("action", "source", "actor"))
    assert actions == [
        ("breaker_force_open", "admin", "admin"),
        ("breaker_reset", "admin", "admin"),
    ]
    page = admin_client.get("/admin/perfmon/operatoraction/").content.decode()
    assert "breaker_force_open" in page or "Circuit breaker forced open" in page
