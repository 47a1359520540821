"""Client-side deadlines for PostgreSQL: what ``statement_timeout`` cannot do.

A server that is frozen (SIGSTOP, a hung host, a network black hole) never
cancels anything, so a worker thread blocked reading from it would wait for
the TCP stack, far past gunicorn's worker timeout. Each request that may use
PostgreSQL arms a deadline (its time budget plus ``MARGIN_SECONDS``); when it
passes, one watchdog thread per process shuts the socket of that request's
connection down. The blocked read returns at once with an error, psycopg
raises, Django discards the connection (it is unusable, as the issue notes)
and the request is answered 504; the breaker counts a failure. A healthy
request disarms its deadline on the way out: arming and disarming are a dict
operation under a lock, no thread per request.
"""

from __future__ import annotations

import heapq
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("enterprise.resilience")

MARGIN_SECONDS = 1.0


class Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, Callable[[], None]] = {}
        self._next = 0
        self._thread: threading.Thread | None = None
        self._pid = 0

    def arm(self, seconds: float, callback: Callable[[], None]) -> int:
        with self._lock:
            if self._thread is None or self._pid != os.getpid():  # started lazily, per process
                self._pid = os.getpid()
                self._heap, self._armed = [], {}
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()
            self._next += 1
            token = self._next
            self._armed[token] = callback
            heapq.heappush(self._heap, (time.monotonic() + seconds, token))
            if self._heap[0][1] == token:
                self._lock.notify()
            return token

    def disarm(self, token: int) -> None:
        with self._lock:
            self._armed.pop(token, None)

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)  # disarmed
                if not self._heap:
                    self._lock.wait()
                    continue
                deadline, token = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._lock.wait(delay)
                    continue
                heapq.heappop(self._heap)
                callback = self._armed.pop(token, None)
            if callback is not None:
                try:
                    callback()
                except Exception:
                    logger.exception("watchdog callback failed")


_watchdog = Watchdog()


def shut_down_postgres_socket(wrapper: Any, fired: threading.Event) -> Callable[[], None]:
    """A callback that cuts ``wrapper``'s current connection off (see the module docstring)."""

    def cut() -> None:
        raw = getattr(wrapper, "connection", None)
        if raw is None or raw.closed:
            return
        fired.set()
        duplicate = socket.socket(fileno=os.dup(raw.pgconn.socket))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            duplicate.close()
        logger.warning("database deadline passed: connection to %s cut off", wrapper.alias)

    return cut


def arm(seconds: float, callback: Callable[[], None]) -> int:
    return _watchdog.arm(seconds, callback)


def disarm(token: int) -> None:
    _watchdog.disarm(token)
