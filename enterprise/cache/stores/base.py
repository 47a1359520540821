"""Lookup outcomes, the store protocol, and the failure gate both stores share."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from enterprise.cache.conf import cache_settings
from enterprise.cache.entries import CachedResponse

OBJECT_GENERATION_TTL = 24 * 3600

logger = logging.getLogger("enterprise.cache")

HIT, STALE, MISS, REBUILD, WAIT = "hit", "stale", "miss", "rebuild", "wait"


@dataclass(slots=True)
class Lookup:
    """The outcome of a response lookup.

    ``state`` is ``hit`` (fresh entry), ``stale`` (soft-expired entry while
    another worker rebuilds it), ``rebuild`` (soft-expired entry and this
    caller holds the lock), ``miss`` (no entry, this caller holds the lock) or
    ``wait`` (no entry, another worker is building it).

    ``outdated`` is an entry found under the key whose *embedded* objects changed
    since it was stored (one of its recorded ``deps`` moved): the lookup is a
    ``miss`` (or ``wait``) and the entry must not be served, but its rows still
    hold, so a fresh one can be refreshed with the objects' current
    representations instead of running the view (``enterprise.cache.refresh``),
    and a ``wait`` knows which stored entry not to take for the one it awaits.
    """

    key: str
    state: str
    entry: CachedResponse | None
    outdated: CachedResponse | None = None
    #: The current values of the generations the lookup was asked to watch
    #: (``Prepared.watch``), read together with the key's own.
    watched: dict[str, str] = field(default_factory=dict)


class Store(Protocol):
    name: str

    def lookup(
        self, gen_keys: list[str], base: str, resource: str, watch: tuple[str, ...] = ()
    ) -> Lookup | None:
        """The entry under ``base`` and the current ``gen_keys``; ``watch``'s values come back
        in ``Lookup.watched``."""

    def fetch(self, key: str) -> CachedResponse | None: ...
    def save(
        self,
        key: str,
        entry: CachedResponse,
        ttl_seconds: int,
        resource: str,
        shadow: tuple[str, int] | None = None,
    ) -> None:
        """Store ``entry``; with ``shadow=(key, seconds)`` also its stale shadow copy."""

    def release(self, key: str) -> None: ...
    def bump(self, gen_keys: Iterable[str], resources: Iterable[str]) -> bool: ...
    def get_objects(
        self, gen_keys: list[str], object_gen_keys: list[str], bases: list[str], resource: str
    ) -> tuple[list[str], list[str], dict[str, bytes]]:
        """Entry keys, object generations and the entries found; counts ``object_hit``."""

    def set_objects(
        self, items: dict[str, bytes], ttl_seconds: int, resource: str, missed: int
    ) -> None:
        """Store ``items`` and count ``missed`` as ``object_miss`` (one round trip)."""

    def counters(self) -> dict[str, int]: ...


class _ErrorGate:
    """Counts store failures, logs one line per interval, and backs off after a failure.

    With ``breaker_name`` (the Redis store) the back-off is that circuit breaker
    (``enterprise.resilience.breakers``): open after a failure, one probe after
    ``ERROR_BACKOFF`` seconds, visible in perfmon. Without it (the local store's
    generation files) a plain timer.
    """

    def __init__(self, breaker_name: str | None = None) -> None:
        self.errors = 0
        self._last_log = 0.0
        self._suppressed = 0
        self._open_until = 0.0
        self._lock = threading.Lock()
        self._breaker = None
        if breaker_name is not None:
            from enterprise.resilience.breakers import breaker

            self._breaker = breaker(breaker_name)

    @property
    def backing_off(self) -> bool:
        if self._breaker is not None:
            return not self._breaker.allow()
        return time.monotonic() < self._open_until

    def succeeded(self) -> None:
        if self._breaker is not None:
            self._breaker.success()

    def failed(self, exc: BaseException, operation: str) -> None:
        conf = cache_settings()
        if self._breaker is not None:
            self._breaker.failure()
        with self._lock:
            self.errors += 1
            now = time.monotonic()
            self._open_until = now + conf["ERROR_BACKOFF"]
            if now - self._last_log >= conf["ERROR_LOG_INTERVAL"]:
                logger.warning(
                    "cache store unavailable during %s (%s: %s); answering from the database "
                    "(%d similar errors since the last report)",
                    operation,
                    type(exc).__name__,
                    str(exc)[:200],
                    self._suppressed,
                )
                self._last_log = now
                self._suppressed = 0
            else:
                self._suppressed += 1
