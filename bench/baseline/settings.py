"""Baseline settings: the project's settings with every optimisation taken out."""

from enterprise.settings import *  # noqa: F403

MIDDLEWARE = [
    "perfmon.middleware.PerfmonMiddleware",  # measurement only: the same counter as the service
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "bench.baseline.urls"
WSGI_APPLICATION = "bench.baseline.wsgi.application"
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "bench.baseline.pagination.CountedPagination",
}
RESPONSE_CACHE = {"ENABLED": False}
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405 - a tutorial leaves the default
