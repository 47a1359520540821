"""``MetricsWSGI``: the outermost layer, timing every request the worker answers.

It wraps the cache's WSGI layer, so hits answered before Django are measured
like everything else. Inner layers leave what they know in the environ:
``perfmon.route`` (the route template: from the cache's route table on a hit,
from Django's resolver otherwise), ``perfmon.resource`` (the cached
resource) and ``perfmon.db`` (round trips and seconds, from
``PerfmonMiddleware``). The cache outcome is read from ``X-Cache``, and the
size from ``Content-Length``, unless the layer that answered left them in the
environ (``perfmon.cache``, ``perfmon.bytes``: the cache's hit path, which
wrote those headers itself).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from perfmon.recorder import get_recorder
from perfmon.routes import UNMATCHED

RECORDING = "perfmon.recording"
ROUTE = "perfmon.route"
RESOURCE = "perfmon.resource"
DB = "perfmon.db"
CACHE = "perfmon.cache"
BYTES = "perfmon.bytes"


def record_from_environ(
    environ: dict[str, Any],
    *,
    status: int,
    seconds: float,
    headers: Iterable[tuple[str, str]],
    result: Any = None,
) -> None:
    """Record one request; ``result`` (the WSGI iterable) sizes a body sent without
    ``Content-Length`` when it is Django's ``HttpResponse``."""
    cache = environ.get(CACHE)
    response_bytes = environ.get(BYTES)
    if cache is None:
        for name, value in headers:  # lengths first: most headers are neither; lower() is not free
            if len(name) == 7 and name.lower() == "x-cache":
                cache = value
            elif len(name) == 14 and name.lower() == "content-length":
                response_bytes = int(value) if value.isdigit() else 0
    if response_bytes is None:
        content = getattr(result, "content", None)  # Django's HttpResponse
        response_bytes = len(content) if isinstance(content, bytes) else 0
    round_trips, db_seconds = environ.get(DB, (0, 0.0))
    get_recorder().record(
        method=environ.get("REQUEST_METHOD", "GET"),
        route=environ.get(ROUTE) or UNMATCHED,
        status=status,
        seconds=seconds,
        db_round_trips=round_trips,
        db_seconds=db_seconds,
        cache=cache,
        resource=environ.get(RESOURCE),
        response_bytes=response_bytes,
    )


class MetricsWSGI:
    def __init__(self, application: Callable[..., Iterable[bytes]]) -> None:
        self.application = application

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        environ[RECORDING] = True
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        try:
            result = self.application(environ, capture)
        except BaseException:
            record_from_environ(
                environ, status=500, seconds=time.perf_counter() - started, headers=()
            )
            raise
        record_from_environ(
            environ,
            status=int(seen.get("status", "500").split(" ", 1)[0]),
            seconds=time.perf_counter() - started,
            headers=seen.get("headers", ()),
            result=result,
        )
        return result
