"""WSGI entry point for gunicorn: ``gunicorn enterprise.wsgi``.

Cached GET responses are answered by ``CachedResponseWSGI`` before Django
builds a request; everything else is Django's application.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enterprise.settings")

from enterprise.cache.wsgi import CachedResponseWSGI

application = CachedResponseWSGI(get_wsgi_application())
