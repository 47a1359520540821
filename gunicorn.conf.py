"""gunicorn settings for `scripts/serve` and production (every value overridable from the environment).

Sizing: ``WEB_CONCURRENCY`` workers (default 2 x usable CPUs + 1, capped at 8)
with ``GUNICORN_THREADS`` threads each (default 2). Usable CPUs are those the
process may run on (its affinity: taskset, cpusets), lowered to a cgroup CPU
quota when there is one (``docker --cpus``, a Kubernetes CPU limit): a
container sees every CPU of its host, and sizing on them started far more
workers than its quota runs. Each thread holds at most one database
connection, so PostgreSQL needs workers x threads connections per host (plus
headroom for management commands).
"""

import math
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

CGROUP_V2_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")


def _cgroup_quota(v2_cpu_max: Path, v1_cpu: Path) -> float | None:
    """CPUs' worth of time the cgroup may use per period (None: no quota, or none readable)."""
    try:
        quota, period = v2_cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (v1_cpu / "cpu.cfs_quota_us").read_text().strip()
            period = (v1_cpu / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        return int(quota) / int(period) if quota not in ("max", "-1") and int(period) > 0 else None
    except ValueError:
        return None


def usable_cpus(v2_cpu_max: Path = CGROUP_V2_CPU_MAX, v1_cpu: Path = CGROUP_V1_CPU) -> int:
    """The CPUs this process may run on, no more than its cgroup quota (rounded up), at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity on this platform
        cpus = multiprocessing.cpu_count()
    quota = _cgroup_quota(v2_cpu_max, v1_cpu)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * usable_cpus() + 1, 8)))
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
