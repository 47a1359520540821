"""gunicorn settings for `scripts/serve` and production (every value overridable from the environment).

Sizing: ``WEB_CONCURRENCY`` workers (default 2 x cores + 1, capped at 8) with
``GUNICORN_THREADS`` threads each (default 2). Each thread holds at most one
database connection, so PostgreSQL needs workers x threads connections per
host (plus headroom for management commands).
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

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
# Each worker's heartbeat touches a temporary file on every pass of its event loop and on
# every readable client socket; on a disk-backed /tmp (ext4 here) that is a metadata write
# that can block. gunicorn's documentation recommends a memory-backed directory.
_shm = "/dev/shm"  # noqa: S108 - gunicorn makes its own private mkstemp() file in it
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (
    _shm if os.access(_shm, os.W_OK) else None
)
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = (
    '{"remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, '
    '"bytes": "%(B)s", "duration_ms": %(M)s, "request_id": "%({x-request-id}o)s"}'
)
errorlog = "-"
# gunicorn's logger, building only the atoms the access line names (perfmon/access_log.py).
logger_class = "perfmon.access_log.AccessLogger"

# --- Metrics shared by every worker ------------------------------------------------
# prometheus_client's multiprocess mode: each worker writes its samples to files in
# this directory and /metrics adds them up. It must be set before the app (and so
# prometheus_client) is imported, is private to this master (its pid), emptied on start
# and removed on exit; dead workers are marked so their gauges disappear.
# perfmon's file sink (used when there is no Redis) gets a per-master directory too, so
# "since start" means since this master started.
_run_dir = Path(tempfile.gettempdir()) / f"enterprise-{os.getpid()}"
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_run_dir / "prometheus"))
os.environ.setdefault("PERFMON_DIRECTORY", str(_run_dir / "perfmon"))


def on_starting(server):
    for name in ("PROMETHEUS_MULTIPROC_DIR", "PERFMON_DIRECTORY"):
        directory = Path(os.environ[name])
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)


def when_ready(server):
    # The app is loaded (preload_app); no worker is forked yet (see freeze_startup_objects).
    from enterprise.warmup import freeze_startup_objects

    server.log.info("gc: %d start-up objects frozen", freeze_startup_objects())


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(_run_dir, ignore_errors=True)
