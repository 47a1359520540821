"""Per-request measurements: counted in the worker, published to the shared sink about once a second.

``record()`` is called once per request (by ``perfmon.wsgi.MetricsWSGI`` under
gunicorn, by ``PerfmonMiddleware`` when Django is called directly) and only
queues the request's figures under a short lock (a slow request also logs its
line); no I/O and no adding up happen on the request path: a daemon thread
per worker adds the queue up (``_absorb``), publishes the counters every
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

    Adding up a second's requests (``Recorder._absorb``) joined the series name
    with each field name for every request; most of its cost.
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


#: Series remembered per process; beyond this (clients can send any method) names are built per request added up.
_MAX_SERIES = 2048
#: Requests queued before ``record()`` adds them up itself (normally the flush does, every second).
_MAX_QUEUED = 20_000


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
        #: Requests recorded since the last ``_absorb()``: time, ``record()``'s arguments, over budget.
        self._queue: list[tuple[Any, ...]] = []
        #: Per-slot counts not yet published; guarded by ``_absorb_lock``.
        self._pending: Counts = {}
        self._absorb_lock = threading.Lock()
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
        """Queue one request's measurements; the flush adds them up (``_absorb``).

        Only a slow request does more here: its log line is written now.
        """
        budget = budget_ms(route)
        over_budget = seconds * 1000 > budget
        item = (
            time.time(),
            method,
            route,
            status,
            seconds,
            db_round_trips,
            db_seconds,
            cache,
            resource,
            response_bytes,
            over_budget,
        )
        with self._lock:
            if os.getpid() != self._pid:  # forked: drop what the parent had not flushed
                self._after_fork()
            queue = self._queue
            queue.append(item)
            backlog = len(queue) >= _MAX_QUEUED
        if backlog:  # no flush for a while (a hung sink): add up here, keep memory bounded
            self._absorb()
        if over_budget:
            self.slow_event(
                "request",
                route=route,
                method=method,
                status=status,
                duration_ms=round(seconds * 1000, 2),
                budget_ms=budget,
                db_round_trips=db_round_trips,
            )
        if self._flusher_pid != self._pid:
            self._start_flusher()

    def _after_fork(self) -> None:
        """Called under ``_lock`` in a forked child: forget the parent's unflushed counts."""
        self._queue, self._pending, self._samples = [], {}, []
        self._metrics = prometheus.RequestBatch()
        self._pid = os.getpid()
        self._absorb_lock = threading.Lock()  # the parent's may have been held at the fork

    def _absorb(self) -> None:
        """Add the queued requests to the per-slot counts and the Prometheus batch.

        Off the request path (the flush, once a second), in one loop: the same
        dictionary increments ``record()`` used to make per request took about
        7 us inside an in-process cache hit, 3 us in a loop of them.
        """
        with self._absorb_lock:
            self._absorb_locked()

    def _absorb_locked(self) -> None:
        with self._lock:
            items, self._queue = self._queue, []
        if items:
            pending, metrics, fields_of = self._pending, self._metrics, self._fields
            for at, method, route, status, seconds, dbn, dbs, cache, resource, size, slow in items:
                names = fields_of(method, route)
                slot = str(current_slot(at))
                target = pending.get(slot)
                if target is None:
                    target = pending[slot] = {}
                get = target.get
                target[names.n] = get(names.n, 0) + 1
                target[names.us] = get(names.us, 0) + int(seconds * 1e6)
                bucket = names.bucket(bucket_of(seconds * 1000))
                target[bucket] = get(bucket, 0) + 1
                if status >= 500:
                    target[names.e5] = get(names.e5, 0) + 1
                elif status >= 400:
                    target[names.e4] = get(names.e4, 0) + 1
                if dbn:
                    target[names.dbn] = get(names.dbn, 0) + dbn
                    target[names.dbus] = get(names.dbus, 0) + int(dbs * 1e6)
                if cache:
                    outcome = names.outcome(cache)
                    target[outcome] = get(outcome, 0) + 1
                if size:
                    target[names.bytes] = get(names.bytes, 0) + size
                if slow:
                    target[names.slow] = get(names.slow, 0) + 1
                metrics.add(method, route, status, seconds, dbn, cache, resource)

    def pending_totals(self) -> dict[str, int]:
        """What the next flush adds to the since-start totals (all slots not yet published)."""
        with self._absorb_lock:
            self._absorb_locked()
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
        with self._absorb_lock:
            self._absorb_locked()
            batch, self._metrics = self._metrics, prometheus.RequestBatch()
        batch.apply()

    def flush(self, *, log_summary: bool = True) -> None:
        # One add-up for both: the Prometheus batch and the counts cover the same requests.
        with self._absorb_lock:
            self._absorb_locked()
            batch, self._metrics = self._metrics, prometheus.RequestBatch()
            pending, self._pending = self._pending, {}
        batch.apply()
        with self._lock:
            samples, self._samples = self._samples, []
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
