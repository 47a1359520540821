"""Django's PostgreSQL backend, with connection attempts bounded by the request's deadline.

``connect_timeout`` (3 s) bounds one attempt; inside a request the attempt gets
at most what is left of the request's time budget (plus the watchdog margin),
and none at all once it has passed, so a request whose connection was cut by
the watchdog (``enterprise.resilience.watchdog``) cannot then spend another
connect timeout reconnecting to a server that stopped answering.
"""

from __future__ import annotations

import math
from typing import Any

from django.db import OperationalError
from django.db.backends.postgresql import base

from enterprise.resilience import budgets, watchdog


class DatabaseWrapper(base.DatabaseWrapper):
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
