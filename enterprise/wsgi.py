"""WSGI entry point for gunicorn: ``gunicorn enterprise.wsgi``.

``MetricsWSGI`` (perfmon) times every request; inside it, cached GET
responses are answered by ``CachedResponseWSGI`` before Django builds a
request; everything else is Django's application.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enterprise.settings")

from enterprise.cache.wsgi import CachedResponseWSGI
from perfmon.wsgi import MetricsWSGI

application = MetricsWSGI(CachedResponseWSGI(get_wsgi_application()))
