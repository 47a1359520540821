"""Session, user and messages: set up for the admin's pages, skipped on the token-authenticated API."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import RequestFactory

from enterprise.browser_middleware import (
    BrowserAuthenticationMiddleware,
    BrowserMessageMiddleware,
    BrowserSessionMiddleware,
)


def _state_seen_by_the_view(path: str) -> dict[str, bool]:
    seen: dict[str, bool] = {}

    def view(request):
        seen.update(
            session=hasattr(request, "session"),
            user=hasattr(request, "user"),
            messages=hasattr(request, "_messages"),
        )
        return HttpResponse("ok")

    chain = BrowserSessionMiddleware(
        BrowserAuthenticationMiddleware(BrowserMessageMiddleware(view))
    )
    assert chain(RequestFactory().get(path)).status_code == 200
    return seen


@pytest.mark.parametrize("path", ["/api/v1/clinics", "/api/v1/schema", "/api/v1/no-such-route"])
def test_api_requests_get_no_session_user_or_messages(path):
    assert _state_seen_by_the_view(path) == {"session": False, "user": False, "messages": False}


@pytest.mark.parametrize("path", ["/admin/", "/admin/performance/", "/metrics"])
def test_every_other_request_gets_them_as_with_djangos_classes(path):
    assert _state_seen_by_the_view(path) == {"session": True, "user": True, "messages": True}


@pytest.mark.django_db
def test_admin_login_session_and_flash_message_work_end_to_end(client, tenant_a):
    get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345-long")
    login = client.post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": "pw-12345-long", "next": "/admin/"},
    )
    assert login.status_code == 302 and login["Location"] == "/admin/"
    assert "sessionid" in login.cookies
    clinic = tenant_a.clinics[0]
    change_url = f"/admin/clinics/clinic/{clinic.pk}/change/"
    form = client.get(change_url)
    assert form.status_code == 200
    data = {
        field.name: field.value()
        for field in form.context["adminform"].form
        if field.value() is not None
    }
    data["name"] = "Renamed in the admin"
    saved = client.post(change_url, data, follow=True)
    assert saved.status_code == 200
    assert any("was changed successfully" in str(m) for m in saved.context["messages"])
