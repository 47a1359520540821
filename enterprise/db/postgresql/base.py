"""Django's PostgreSQL backend, with connection attempts bounded by the request's deadline.

``connect_timeout`` (3 s) bounds one attempt; inside a request the attempt gets
at most what is left of the request's time budget (plus the watchdog margin),
and none at all once it has passed, so a request whose connection was cut by
the watchdog (``enterprise.resilience.watchdog``) cannot then spend another
connect timeout reconnecting to a server that stopped answering.

The persistent-connection health check (``CONN_HEALTH_CHECKS``: a ``SELECT 1``
before a request's first query, a round trip no query counter sees) is made
only for a connection idle for ``HEALTH_CHECK_IDLE_SECONDS`` or more. Under
load every request reused a connection a request had used milliseconds
before, so every cache miss paid one more round trip than it counted. What
a skipped check can miss (a restart in the last second) costs no more than
the check was there to spare: the request's first query fails; a read is
retried on a fresh connection (``enterprise.resilience.database``), a write
is refused with a 503 before anything was applied, and Django closes the
broken connection at the end of that request.

Timestamps are loaded by psycopg's C loader. Django registers a Python subclass of
psycopg's ``TimestamptzLoader`` (to attach its own tzinfo), which psycopg cannot
swap for its C version: ~4.7 µs per value against ~0.35 µs, and a page of clinic
staff loads about 80 of them. With ``USE_TZ`` and a UTC connection (this
project's only configuration; Django sets the session's ``TimeZone`` itself) the
C loader returns exactly what Django's does, ``datetime.timezone.utc`` included.
"""

from __future__ import annotations

import datetime
import math
import time
from typing import Any

from django.db import OperationalError
from django.db.backends.postgresql import base
from psycopg._cmodule import _psycopg
from psycopg.adapt import Loader

from enterprise.resilience import budgets, watchdog

#: A connection a request used less than this long ago is not health-checked again.
HEALTH_CHECK_IDLE_SECONDS = 1.0


class UtcTimestamptzLoader(Loader):
    """psycopg's C ``timestamptz`` loader, carrying the ``timezone`` Django's ``create_cursor`` compares.

    The C type cannot be subclassed: each instance wraps one and exposes its bound
    ``load`` as its own, so rows are loaded without a Python frame per value.
    """

    timezone = datetime.UTC

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._c_load = _psycopg.TimestamptzLoader(oid, context).load
        self.load = self._c_load  # type: ignore[method-assign] # shadows the method below

    def load(self, data: Any) -> datetime.datetime:
        return self._c_load(data)


class DatabaseWrapper(base.DatabaseWrapper):
    _used_at = -math.inf  # when a request last started using this connection (monotonic)

    def connect(self) -> None:
        super().connect()
        self._used_at = time.monotonic()

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if _psycopg is not None and self.timezone is datetime.UTC:
            connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
        return connection

    def close_if_health_check_failed(self) -> None:
        if self.connection is not None and self.health_check_enabled and not self.health_check_done:
            now = time.monotonic()
            if now - self._used_at < HEALTH_CHECK_IDLE_SECONDS:
                self.health_check_done = True
            else:
                super().close_if_health_check_failed()
            self._used_at = now
            return
        super().close_if_health_check_failed()

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        remaining = budgets.remaining_seconds()
        if remaining is not None:
            remaining += watchdog.MARGIN_SECONDS
            if remaining <= 0:
                raise OperationalError("the request's deadline passed before connecting")
            configured = float(params.get("connect_timeout") or 0) or math.inf
            # libpq takes whole seconds (and treats 1 as 2); never below 2.
            params["connect_timeout"] = max(2, math.ceil(min(configured, remaining)))
        return params
