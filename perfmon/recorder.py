"""Per-request measurements: counted in the worker, published to the shared sink about once a second.

``record()`` is called once per request (by ``perfmon.wsgi.MetricsWSGI`` under
gunicorn, by ``PerfmonMiddleware`` when Django is called directly) and costs
a few dictionary increments under a short lock; no I/O happens on the
request path: a daemon thread per worker publishes the counters every
``FLUSH_SECONDS`` (and once more when the process exits), and writes the
Prometheus request metrics (``prometheus.RequestBatch``) on the same beat.

Fields kept per (slot, "METHOD route"): ``n`` requests, ``e5`` 5xx, ``e4`` 4xx,
``us`` total microseconds, ``dbn`` database round trips, ``dbus`` database
microseconds, ``hit``/``miss``/``stale`` cache outcomes, ``bytes`` response
bytes, ``slow`` requests over the route's budget, ``b:<i>`` latency buckets
(``perfmon.histogram``).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from typing import Any

from perfmon import prometheus
from perfmon.conf import budget_ms, perfmon_settings
from perfmon.histogram import bucket_of
from perfmon.sinks import Counts, FileSink, RedisSink, Sink

logger = logging.getLogger("perfmon")
slow_logger = logging.getLogger("perfmon.slow")

SEPARATOR = "\x1f"


def series_key(method: str, route: str) -> str:
    return f"{method} {route}"


def current_slot(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // perfmon_settings()["SLOT_SECONDS"])


class SeriesFields:
    """The counter names of one series (``"METHOD route"``), built once per series.

    ``record()`` runs on every request; joining the series name with each
    field name there was most of its cost.
    """

    __slots__ = ("prefix", "n", "us", "e5", "e4", "dbn", "dbus", "bytes", "slow", "_named")

    def __init__(self, method: str, route: str) -> None:
        self.prefix = prefix = series_key(method, route) + SEPARATOR
        self.n, self.us, self.e5, self.e4 = (
            prefix + "n",
            prefix + "us",
            prefix + "e5",
            prefix + "e4",
        )
        self.dbn, self.dbus = prefix + "dbn", prefix + "dbus"
        self.bytes, self.slow = prefix + "bytes", prefix + "slow"
        #: Latency buckets and cache outcomes, named the first time the series sees them.
        self._named: dict[object, str] = {}

    def bucket(self, index: int) -> str:
        name = self._named.get(index)
        if name is None:
            name = self._named.setdefault(index, f"{self.prefix}b:{index}")
        return name

    def outcome(self, cache: str) -> str:
        name = self._named.get(cache)
        if name is None:
            name = self._named.setdefault(cache, self.prefix + cache.lower())
        return name


#: Series remembered per process; beyond this (clients can send any method) names are built per request.
_MAX_SERIES = 2048


def build_sink() -> Sink:
    from enterprise.cache.stores import RedisStore, get_store

    conf = perfmon_settings()
    keep = conf["SLOW_SAMPLES"]
    store = get_store()
    if conf["SINK"] == "redis" or (conf["SINK"] == "auto" and isinstance(store, RedisStore)):
        if not isinstance(store, RedisStore):
            raise RuntimeError("PERFMON SINK=redis needs REDIS_URL")
        return RedisSink(store.client, history_seconds=conf["HISTORY_SECONDS"], keep_samples=keep)
    return FileSink(
        conf["DIRECTORY"],
        slot_seconds=conf["SLOT_SECONDS"],
        history_seconds=conf["HISTORY_SECONDS"],
        keep_samples=keep,
    )


class Recorder:
    """One per process (``get_recorder()``); see the module docstring."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._lock = threading.Lock()
        self._pending: Counts = {}
        self._samples: list[dict[str, Any]] = []
        self._metrics = prometheus.RequestBatch()
        self._pid = os.getpid()
        self._flusher_pid: int | None = None
        self._series: dict[tuple[str, str], SeriesFields] = {}

    def _fields(self, method: str, route: str) -> SeriesFields:
        fields = self._series.get((method, route))
        if fields is None:
            fields = SeriesFields(method, route)
            if len(self._series) < _MAX_SERIES:
                self._series[(method, route)] = fields
        return fields

    def record(
        self,
        *,
        method: str,
        route: str,
        status: int,
        seconds: float,
        db_round_trips: int = 0,
        db_seconds: float = 0.0,
        cache: str | None = None,
        resource: str | None = None,
        response_bytes: int = 0,
    ) -> None:
        ms = seconds * 1000
        budget = budget_ms(route)
        over_budget = ms > budget
        names = self._fields(method, route)
        bucket = names.bucket(bucket_of(ms))
        outcome = names.outcome(cache) if cache else None
        slot = str(current_slot())
        with self._lock:
            if os.getpid() != self._pid:  # forked: drop what the parent had not flushed
                self._pending, self._samples, self._pid = {}, [], os.getpid()
                self._metrics = prometheus.RequestBatch()
            target = self._pending.get(slot)
            if target is None:
                target = self._pending[slot] = {}
            get = target.get
            target[names.n] = get(names.n, 0) + 1
            target[names.us] = get(names.us, 0) + int(seconds * 1e6)
            target[bucket] = get(bucket, 0) + 1
            if status >= 500:
                target[names.e5] = get(names.e5, 0) + 1
            elif status >= 400:
                target[names.e4] = get(names.e4, 0) + 1
            if db_round_trips:
                target[names.dbn] = get(names.dbn, 0) + db_round_trips
                target[names.dbus] = get(names.dbus, 0) + int(db_seconds * 1e6)
            if outcome is not None:
                target[outcome] = get(outcome, 0) + 1
            if response_bytes:
                target[names.bytes] = get(names.bytes, 0) + response_bytes
            if over_budget:
                target[names.slow] = get(names.slow, 0) + 1
            self._metrics.add(method, route, status, seconds, db_round_trips, cache, resource)
        if over_budget:
            self.slow_event(
                "request",
                route=route,
                method=method,
                status=status,
                duration_ms=round(ms, 2),
                budget_ms=budget,
                db_round_trips=db_round_trips,
            )
        if self._flusher_pid != self._pid:
            self._start_flusher()

    def pending_totals(self) -> dict[str, int]:
        """What the next flush adds to the since-start totals (all slots not yet published)."""
        with self._lock:
            return since_start_increments(self._pending)

    def _start_flusher(self) -> None:
        """A daemon thread per worker process publishes every ``FLUSH_SECONDS``; requests never do."""
        with self._lock:
            if self._flusher_pid == os.getpid():
                return
            self._flusher_pid = os.getpid()
        interval = float(perfmon_settings()["FLUSH_SECONDS"])

        def run() -> None:
            while True:
                time.sleep(interval)
                try:
                    self.flush()
                except Exception:  # never let metrics kill the thread
                    logger.exception("perfmon: flush failed")

        threading.Thread(target=run, name="perfmon-flush", daemon=True).start()
        atexit.register(self.flush, log_summary=False)  # a cleanly exiting worker's last second

    def slow_event(self, kind: str, **details: Any) -> None:
        """Log one JSON line for a slow request or database operation and keep it as a sample."""
        sample = {"kind": kind, "at": round(time.time(), 3), **details}
        slow_logger.warning(json.dumps(sample, default=str))
        prometheus.SLOW_OPERATIONS.labels(kind).inc()
        with self._lock:
            self._samples.append(sample)

    def flush_metrics(self) -> None:
        """Write this worker's request observations to the Prometheus metrics now."""
        with self._lock:
            batch, self._metrics = self._metrics, prometheus.RequestBatch()
        batch.apply()

    def flush(self, *, log_summary: bool = True) -> None:
        self.flush_metrics()
        with self._lock:
            pending, samples = self._pending, self._samples
            self._pending, self._samples = {}, []
        if pending:
            pending["total"] = since_start_increments(pending)
        if pending or samples:
            self.sink.publish(pending, samples)
        interval = perfmon_settings()["SUMMARY_LOG_SECONDS"]
        if interval and log_summary:
            self._maybe_log_summary(int(interval))

    def _maybe_log_summary(self, interval: int) -> None:
        period = int(time.time() // interval)
        if period == getattr(self, "_logged_period", None):
            return
        self._logged_period = period
        if not self.sink.claim(f"summary-{interval}-{period}", interval * 2):
            return  # another worker logs this period
        from perfmon.summary import summary_line

        line = summary_line(self.sink, seconds=interval)
        if line["requests"]:
            logger.info(json.dumps({"event": "perfmon.summary", **line}))


def since_start_increments(pending: Counts) -> dict[str, int]:
    """The ``"total"`` slot of a publication: every slot's fields added up.

    Added up once per flush rather than on every request, which kept a second
    copy of each increment.
    """
    total: dict[str, int] = {}
    get = total.get
    for fields in pending.values():
        for key, n in fields.items():
            total[key] = get(key, 0) + n
    return total


_recorder: Recorder | None = None
_recorder_lock = threading.Lock()


def get_recorder() -> Recorder:
    """The process's recorder, built on first use (the sink follows the cache store)."""
    global _recorder
    if _recorder is None:
        with _recorder_lock:
            if _recorder is None:
                _recorder = Recorder(build_sink())
    return _recorder


def reset_recorder() -> None:
    """Forget the recorder (tests, or after the cache store was rebuilt)."""
    global _recorder
    with _recorder_lock:
        _recorder = None
