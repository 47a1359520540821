"""Circuit breakers: closed / open / half-open, a failure-rate window, bounded probes, shared state.

A breaker guards one dependency (``database``, ``redis``). Callers ask
``allow()`` before using it and report ``success()`` or ``failure()`` after.

* **Closed**: calls pass. Each process counts calls and failures in the current
  ``WINDOW_SECONDS``; when at least ``MINIMUM_CALLS`` were made and
  ``FAILURE_RATE`` of them failed, or ``CONSECUTIVE_FAILURES`` failed in a row,
  the breaker opens for everyone.
* **Open**: calls are refused (the caller degrades: stale copy, 503) until
  ``OPEN_SECONDS`` have passed; then the first caller moves it to half-open.
* **Half-open**: at most ``PROBES`` calls are let through (permits counted in the
  shared store); ``PROBES`` successes close it, any failure re-opens it.
* **Forced open** by an operator: stays open until reset.

The closed path takes no lock and makes no network call: ``allow()`` reads a
snapshot of the shared state refreshed at most every ``SYNC_SECONDS`` (so a
transition made by one worker reaches the others within that), and the
window counters are plain per-process integers (approximate under threads,
which a failure *rate* tolerates). Only transitions and half-open permits
touch the shared store. pybreaker was considered and not used: its Redis
storage serialises calls, raises from its constructor when Redis is down
and pays Redis retries on every guarded call (issue #7 of this project).

Transitions are logged and fed to perfmon (state gauge, transition counter).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from enterprise.resilience.storage import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerStorage,
    FallbackStorage,
    LocalStorage,
    RedisStorage,
    Snapshot,
)

logger = logging.getLogger("enterprise.resilience")

_STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass(frozen=True)
class BreakerConfig:
    failure_rate: float = 0.5
    minimum_calls: int = 10
    consecutive_failures: int = 5
    window_seconds: float = 10.0
    open_seconds: float = 5.0
    probes: int = 3
    sync_seconds: float = 1.0

    @classmethod
    def from_settings(cls, values: dict[str, Any]) -> BreakerConfig:
        names = {
            "FAILURE_RATE": "failure_rate",
            "MINIMUM_CALLS": "minimum_calls",
            "CONSECUTIVE_FAILURES": "consecutive_failures",
            "WINDOW_SECONDS": "window_seconds",
            "OPEN_SECONDS": "open_seconds",
            "PROBES": "probes",
            "SYNC_SECONDS": "sync_seconds",
        }
        return cls(**{names[k]: v for k, v in values.items() if k in names})


def _now_ms() -> int:
    return int(time.time() * 1000)


class CircuitBreaker:
    """See the module docstring. Thread-safe; one instance per process per dependency."""

    def __init__(self, name: str, storage: BreakerStorage, config: BreakerConfig) -> None:
        self.name = name
        self.storage = storage
        self.config = config
        self._snapshot: Snapshot = (CLOSED, 0, False)
        self._read_at = float("-inf")
        self._window_start = time.monotonic()
        self._calls = 0
        self._failures = 0
        self._consecutive = 0
        self._probe = threading.local()
        self._last_reported: str | None = None

    # -- state -------------------------------------------------------------------------
    def snapshot(self, *, fresh: bool = False) -> Snapshot:
        now = time.monotonic()
        if fresh or now - self._read_at >= self.config.sync_seconds:
            self._read_at = now
            self._snapshot = self.storage.read()
            self._report(self._snapshot[0])
        return self._snapshot

    @property
    def state(self) -> str:
        return self.snapshot()[0]

    def retry_after_seconds(self) -> int:
        """How long until the next probe may run (for ``Retry-After``); at least 1."""
        state, since, forced = self.snapshot()
        if state != OPEN or forced:
            return max(1, int(self.config.open_seconds))
        remaining = self.config.open_seconds - (_now_ms() - since) / 1000
        return max(1, int(remaining + 0.999))

    # -- calls -------------------------------------------------------------------------
    def allow(self) -> bool:
        state, since, forced = self.snapshot()
        self._probe.since = None
        if state == CLOSED:
            return True
        if state == OPEN:
            if forced or (_now_ms() - since) < self.config.open_seconds * 1000:
                return False
            new_since = _now_ms()
            if self._move(since, HALF_OPEN, new_since):
                since = new_since
            else:  # another worker moved it first: act on what it is now
                state, since, forced = self.snapshot(fresh=True)
                if state != HALF_OPEN:
                    return state == CLOSED
                if (_now_ms() - since) >= self.config.open_seconds * 1000:
                    return False  # a stale half-open period; the next call renews it
        elif (_now_ms() - since) >= self.config.open_seconds * 1000:
            # Half-open for a whole open period without a verdict (probes that never
            # reported): start a new half-open period with fresh permits.
            new_since = _now_ms()
            if self._move(since, HALF_OPEN, new_since):
                since = new_since
        if self.storage.incr("probes", since) > self.config.probes:
            return False
        self._probe.since = since
        return True

    def release(self) -> None:
        """The allowed call never used the dependency: neither success nor failure."""
        self._probe.since = None

    def success(self) -> None:
        probe_since = getattr(self._probe, "since", None)
        if probe_since is not None:
            self._probe.since = None
            if self.storage.incr("successes", probe_since) >= self.config.probes:
                self._move(probe_since, CLOSED, _now_ms())
            return
        self._count(failed=False)

    def failure(self) -> None:
        probe_since = getattr(self._probe, "since", None)
        if probe_since is not None:
            self._probe.since = None
            self._move(probe_since, OPEN, _now_ms())
            return
        if self._count(failed=True):
            state, since, _ = self.snapshot()
            if state == CLOSED:
                self._move(since, OPEN, _now_ms())

    def _count(self, *, failed: bool) -> bool:
        """Count one call; True when the window's failures now call for opening."""
        now = time.monotonic()
        if now - self._window_start >= self.config.window_seconds:
            self._window_start, self._calls, self._failures = now, 0, 0
        self._calls += 1
        if not failed:
            self._consecutive = 0
            return False
        self._failures += 1
        self._consecutive += 1
        config = self.config
        return self._consecutive >= config.consecutive_failures or (
            self._calls >= config.minimum_calls
            and self._failures / self._calls >= config.failure_rate
        )

    # -- operators ---------------------------------------------------------------------
    def force_open(self) -> None:
        self._move(None, OPEN, _now_ms(), forced=True)

    def reset(self) -> None:
        self._move(None, CLOSED, _now_ms())

    def _move(
        self, expected_since: int | None, state: str, since: int, forced: bool = False
    ) -> bool:
        moved = self.storage.transition(expected_since, state, since, forced)
        if moved:
            self._snapshot, self._read_at = (state, since, forced), time.monotonic()
            self._window_start, self._calls, self._failures, self._consecutive = (
                time.monotonic(),
                0,
                0,
                0,
            )
            logger.warning(
                "circuit breaker %s -> %s%s (storage: %s)",
                self.name,
                state,
                " (forced)" if forced else "",
                self.storage.name,
            )
            from perfmon.prometheus import BREAKER_TRANSITIONS

            BREAKER_TRANSITIONS.labels(self.name, state).inc()
            self._report(state)
        return moved

    def _report(self, state: str) -> None:
        if state != self._last_reported:
            from perfmon.prometheus import BREAKER_STATE

            BREAKER_STATE.labels(self.name).set(_STATE_VALUES[state])
            self._last_reported = state

    def describe(self) -> dict[str, Any]:
        state, since, forced = self.snapshot(fresh=True)
        config = self.config
        return {
            "name": self.name,
            "state": state,
            "since": since / 1000 if since else None,
            "forced": forced,
            "storage": self.storage.name,
            "retryAfterSeconds": self.retry_after_seconds() if state == OPEN else None,
            "config": {
                "failureRate": config.failure_rate,
                "minimumCalls": config.minimum_calls,
                "consecutiveFailures": config.consecutive_failures,
                "windowSeconds": config.window_seconds,
                "openSeconds": config.open_seconds,
                "probes": config.probes,
            },
            "window": {"calls": self._calls, "failures": self._failures},
        }


# -- the process's breakers ------------------------------------------------------------
_breakers: dict[str, CircuitBreaker] = {}
_lock = threading.Lock()


def _shared_storage(name: str) -> BreakerStorage:
    from enterprise.cache.stores import RedisStore, get_store

    store = get_store()
    if isinstance(store, RedisStore):
        return FallbackStorage(RedisStorage(store.client, name))
    return LocalStorage()


def breaker(name: str) -> CircuitBreaker:
    """The named breaker (``database`` or ``redis``), built on first use from ``settings.RESILIENCE``.

    The storage is built before taking this module's lock: the ``database`` breaker's
    storage needs the cache store, and building the cache store builds the ``redis``
    breaker, so doing it under the lock would deadlock (the same thread re-entering, or
    two threads taking the two locks in opposite orders).
    """
    found = _breakers.get(name)
    if found is not None:
        return found
    from django.conf import settings

    conf = settings.RESILIENCE["BREAKERS"][name]
    if name == "redis":
        # It guards Redis itself, so its state cannot live there.
        from enterprise.cache.conf import cache_settings

        conf = {"OPEN_SECONDS": cache_settings()["ERROR_BACKOFF"], **conf}
        storage: BreakerStorage = LocalStorage()
    else:
        storage = _shared_storage(name)
    with _lock:
        if name not in _breakers:
            _breakers[name] = CircuitBreaker(name, storage, BreakerConfig.from_settings(conf))
        return _breakers[name]


def all_breakers() -> list[CircuitBreaker]:
    from django.conf import settings

    return [breaker(name) for name in settings.RESILIENCE["BREAKERS"]]


def reset_breakers() -> None:
    """Forget the process's breakers (tests; after the cache store is rebuilt)."""
    with _lock:
        _breakers.clear()
