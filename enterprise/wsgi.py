"""WSGI entry point for gunicorn: ``gunicorn enterprise.wsgi``.

``MetricsWSGI`` (perfmon) times every request; inside it, cached GET
responses are answered by ``CachedResponseWSGI`` before Django builds a
request; everything else is Django's application. Importing the module also does the
work no forked worker should repeat (``enterprise.warmup``).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enterprise.settings")

from enterprise.cache.wsgi import CachedResponseWSGI
from perfmon.wsgi import MetricsWSGI

application = MetricsWSGI(CachedResponseWSGI(get_wsgi_application()))

from enterprise.warmup import compile_validator_patterns  # noqa: E402 - needs the apps loaded

compile_validator_patterns()
