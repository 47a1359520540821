"""What a request asks of the database: round trips, time, slow operations and repeated shapes.

One ``Observation`` per request lives in a thread-local while the request
runs (``observing()``). Two feeds fill it, one per kind of backend:

* SQL backends: ``SqlObserver`` is installed with ``connection.execute_wrapper``
  on every connection for the request. It sees the statement with its ``%s``
  placeholders and the parameters separately; only the statement is ever
  logged, so no value a client sent (names, emails, NPIs) reaches a log line.
* MongoDB: the backend has no SQL cursor, so ``perfmon.mongo.CommandObserver``
  (a pymongo ``CommandListener`` given to the client in settings) reports each
  command; pymongo calls it on the thread that ran the command. Logged
  commands have every value replaced by ``"?"``: field names and operators
  stay, data does not.

An operation slower than ``SLOW_QUERY_MS`` produces one JSON line on the
``perfmon.slow`` logger (and a dashboard sample). With ``N_PLUS_ONE`` set, a
request that runs one statement shape more than ``N_PLUS_ONE_THRESHOLD``
times is reported with its route (``log``) or fails (``raise``: the tests do
this, so an N+1 loop cannot land).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections

from perfmon.conf import perfmon_settings
from perfmon.recorder import get_recorder

_local = threading.local()
_IN_LIST = re.compile(r"\bIN \(%s(?:\s*,\s*%s)*\)", re.IGNORECASE)


class NPlusOneError(AssertionError):
    """A request repeated one query shape more than the configured threshold."""


class Observation:
    __slots__ = ("route", "round_trips", "seconds", "shapes", "track_shapes", "slow_ms")

    def __init__(self, route: str = "") -> None:
        conf = perfmon_settings()
        self.route = route
        self.round_trips = 0
        self.seconds = 0.0
        self.track_shapes = conf["N_PLUS_ONE"] != "off"
        self.shapes: dict[str, int] = {}
        self.slow_ms = float(conf["SLOW_QUERY_MS"])

    def add(self, *, vendor: str, statement: Any, seconds: float, shape: str | None = None) -> None:
        self.round_trips += 1
        self.seconds += seconds
        if self.track_shapes and shape is not None:
            self.shapes[shape] = self.shapes.get(shape, 0) + 1
        if seconds * 1000 > self.slow_ms:
            slow_operation(vendor=vendor, statement=statement, seconds=seconds, route=self.route)

    def repeated_shapes(self, threshold: int) -> dict[str, int]:
        return {shape: n for shape, n in self.shapes.items() if n > threshold}


def current() -> Observation | None:
    return getattr(_local, "observation", None)


@contextmanager
def capturing() -> Iterator[list[tuple[str, Any, Any]]]:
    """Collect ``(vendor, statement, params)`` of every operation on this thread (``explain_endpoint``).

    Parameters are kept here, in memory, to run ``EXPLAIN`` with them; they are never logged.
    """
    captured: list[tuple[str, Any, Any]] = []
    previous = getattr(_local, "capture", None)
    _local.capture = captured
    try:
        yield captured
    finally:
        _local.capture = previous


def captured_operation(vendor: str, statement: Any, params: Any) -> None:
    captured = getattr(_local, "capture", None)
    if captured is not None:
        captured.append((vendor, statement, params))


def slow_operation(*, vendor: str, statement: Any, seconds: float, route: str) -> None:
    get_recorder().slow_event(
        "query",
        vendor=vendor,
        route=route or None,
        statement=statement,
        duration_ms=round(seconds * 1000, 2),
    )


def sql_shape(sql: str) -> str:
    """The statement with ``IN (%s, %s, ...)`` lists collapsed, so one query with 3 or 30 ids is one shape."""
    return _IN_LIST.sub("IN (%s...)", sql)


class SqlObserver:
    """``execute_wrapper`` feeding the current observation (see the module docstring)."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            observation = current()
            seconds = time.perf_counter() - started
            captured_operation(self.vendor, sql, params)
            if observation is not None:
                shape = sql_shape(sql) if observation.track_shapes else None
                observation.add(vendor=self.vendor, statement=sql, seconds=seconds, shape=shape)
            elif seconds * 1000 > perfmon_settings()["SLOW_QUERY_MS"]:
                slow_operation(vendor=self.vendor, statement=sql, seconds=seconds, route="")


@contextmanager
def observing(route: str = "") -> Iterator[Observation]:
    """Observe the database work done on this thread until the block ends (nestable: inner wins)."""
    observation = Observation(route)
    previous = current()
    _local.observation = observation
    wrappers = [
        connections[alias].execute_wrapper(SqlObserver(connections[alias].vendor))
        for alias in connections
        if connections[alias].vendor != "mongodb"
    ]
    for wrapper in wrappers:
        wrapper.__enter__()
    try:
        yield observation
    finally:
        for wrapper in reversed(wrappers):
            wrapper.__exit__(None, None, None)
        _local.observation = previous


def check_repeated_shapes(observation: Observation, *, method: str) -> None:
    """Report (or raise on) shapes repeated past the threshold; see ``N_PLUS_ONE``."""
    conf = perfmon_settings()
    if conf["N_PLUS_ONE"] == "off":
        return
    repeated = observation.repeated_shapes(int(conf["N_PLUS_ONE_THRESHOLD"]))
    if not repeated:
        return
    get_recorder().slow_event(
        "n_plus_one",
        route=observation.route,
        method=method,
        repeated={shape[:500]: n for shape, n in repeated.items()},
    )
    if conf["N_PLUS_ONE"] == "raise":
        shape, n = max(repeated.items(), key=lambda item: item[1])
        raise NPlusOneError(
            f"{method} {observation.route} ran one query shape {n} times "
            f"(threshold {conf['N_PLUS_ONE_THRESHOLD']}): {shape[:300]}"
        )
