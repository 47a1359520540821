"""perfmon settings: ``settings.PERFMON`` merged over these defaults.

* ``QUERY_COUNT_HEADER`` (``False``): add ``X-DB-Queries`` (database round
  trips the request made) to every response; for benchmarks and debugging,
  not for production (it tells clients about internals).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {"QUERY_COUNT_HEADER": False}


def perfmon_settings() -> dict[str, Any]:
    return {**DEFAULTS, **getattr(settings, "PERFMON", {})}
