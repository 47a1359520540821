"""gunicorn settings for `scripts/serve` and production (every value overridable from the environment).

Sizing: ``WEB_CONCURRENCY`` workers (default 2 x cores + 1, capped at 8) with
``GUNICORN_THREADS`` threads each (default 2). Each thread holds at most one
database connection, so PostgreSQL needs workers x threads connections per
host (plus headroom for management commands).
"""

import multiprocessing
import os

_cores = multiprocessing.cpu_count()

workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * _cores + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
worker_class = "gthread" if threads > 1 else "sync"
# Above the largest per-request budget, so the application's own deadline answers first.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 150))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# Recycle workers now and then (jittered so they do not all restart together).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 20000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 2000))
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = (
    '{"remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, '
    '"bytes": "%(B)s", "duration_ms": %(M)s, "request_id": "%({x-request-id}o)s"}'
)
errorlog = "-"
