"""Where a breaker's state lives: Redis (seen by every worker on every host) or this process.

The state is three values, ``state``, ``since_ms`` (when it was entered: the
version every transition compares against) and ``forced`` (an operator
forced it open). Transitions are compare-and-set on ``since_ms``, so two
workers that both see a breaker fail cannot open it twice, and a probe
result from an older half-open period cannot close a newer one.

``FallbackStorage`` uses Redis while it answers and this process's copy for
5 s after it does not: a breaker whose store is down keeps working locally
instead of adding a connect timeout to every call, and the app starts with
Redis down (nothing here touches Redis at import or construction).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

logger = logging.getLogger("enterprise.resilience")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
Snapshot = tuple[str, int, bool]  # state, since_ms, forced


class BreakerStorage(Protocol):
    name: str

    def read(self) -> Snapshot: ...
    def transition(
        self, expected_since: int | None, state: str, since: int, forced: bool
    ) -> bool: ...
    def incr(self, counter: str, since: int) -> int: ...


class LocalStorage:
    """This process only (also the Redis breaker's own storage: it cannot live in Redis)."""

    name = "local"

    def __init__(self) -> None:
        self._snapshot: Snapshot = (CLOSED, 0, False)
        self._counters: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()  # transitions and probe permits only, never closed calls

    def read(self) -> Snapshot:
        return self._snapshot

    def transition(self, expected_since: int | None, state: str, since: int, forced: bool) -> bool:
        with self._lock:
            if expected_since is not None and self._snapshot[1] != expected_since:
                return False
            self._snapshot = (state, since, forced)
            self._counters = {k: v for k, v in self._counters.items() if k[1] == since}
            return True

    def incr(self, counter: str, since: int) -> int:
        with self._lock:
            key = (counter, since)
            self._counters[key] = self._counters.get(key, 0) + 1
            return self._counters[key]


_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'since')
if ARGV[1] ~= '*' and (current or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'since', ARGV[3], 'forced', ARGV[4])
return 1
"""


class RedisStorage:
    name = "redis"

    def __init__(self, client: Any, breaker: str) -> None:
        self.client = client
        self.key = f"breaker:{breaker}"
        self._script: Any = None

    @property
    def _transition(self) -> Any:
        if self._script is None:
            self._script = self.client.register_script(_TRANSITION)
        return self._script

    def read(self) -> Snapshot:
        raw = self.client.hgetall(self.key)
        if not raw:
            return (CLOSED, 0, False)
        return (raw[b"state"].decode(), int(raw[b"since"]), raw.get(b"forced") == b"1")

    def transition(self, expected_since: int | None, state: str, since: int, forced: bool) -> bool:
        expected = "*" if expected_since is None else str(expected_since)
        return bool(
            self._transition(keys=[self.key], args=[expected, state, since, "1" if forced else "0"])
        )

    def incr(self, counter: str, since: int) -> int:
        key = f"{self.key}:{counter}:{since}"
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 3600)
        return int(pipe.execute()[0])


class FallbackStorage:
    """Redis first; this process's ``LocalStorage`` while Redis does not answer (see the module docstring)."""

    RETRY_SECONDS = 5.0

    def __init__(self, primary: BreakerStorage) -> None:
        self.primary = primary
        self.local = LocalStorage()
        self._down_until = 0.0

    @property
    def name(self) -> str:
        return self.local.name if self.degraded else self.primary.name

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self._down_until

    def _call(self, method: str, *args: Any) -> Any:
        if not self.degraded:
            try:
                return getattr(self.primary, method)(*args)
            except Exception as exc:
                self._down_until = time.monotonic() + self.RETRY_SECONDS
                logger.warning(
                    "breaker storage %s unavailable (%s); using process-local state for %ss",
                    self.primary.name,
                    type(exc).__name__,
                    self.RETRY_SECONDS,
                )
        return getattr(self.local, method)(*args)

    def read(self) -> Snapshot:
        return self._call("read")

    def transition(self, expected_since: int | None, state: str, since: int, forced: bool) -> bool:
        done = self._call("transition", expected_since, state, since, forced)
        if done and not self.degraded:  # keep the local copy current so a fallback starts from it
            self.local.transition(None, state, since, forced)
        return done

    def incr(self, counter: str, since: int) -> int:
        return self._call("incr", counter, since)
