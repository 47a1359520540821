"""The two ceilings every result is read against, served by gunicorn with the same settings.

``bare_app``: a minimal WSGI app returning a fixed body of the size of a typical
cached list page. ``django_app``: a plain Django view behind Django's default
middleware (settings ``bench.ceilings``). Both need no database.
"""

from __future__ import annotations

import os

BODY = (
    b'{"results":['
    + b",".join([b'{"id":"6b0ac80d5fc57d2d8494c306","name":"Ceiling"}'] * 40)
    + b'],"next":null}'
)


def bare_app(environ, start_response):
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]


# --- a minimal Django project: one view, the default middleware ------------------------------------
SECRET_KEY = "ceiling-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench.ceilings"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
DATABASES: dict = {}
USE_TZ = True


def _view(request):
    from django.http import HttpResponse

    return HttpResponse(BODY, content_type="application/json")


def _urlpatterns() -> list:
    from django.urls import path

    return [path("", _view)]


if os.environ.get("DJANGO_SETTINGS_MODULE") == "bench.ceilings":
    urlpatterns = _urlpatterns()
    from django.core.wsgi import get_wsgi_application

    django_app = get_wsgi_application()
