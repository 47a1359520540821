"""Per-request database round-trip counting.

Every SQL statement goes through ``connection.execute_wrapper``; the count is
kept on the request (``request.db_round_trips``) and, with
``PERFMON["QUERY_COUNT_HEADER"]``, returned as ``X-DB-Queries``. Responses
answered by the cache's WSGI layer never reach Django, so they made none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse

from perfmon.conf import perfmon_settings


class _Counter:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = perfmon_settings()["QUERY_COUNT_HEADER"]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counter = _Counter()
        wrappers = [connections[alias].execute_wrapper(counter) for alias in connections]
        for wrapper in wrappers:
            wrapper.__enter__()
        try:
            response = self.get_response(request)
        finally:
            for wrapper in reversed(wrappers):
                wrapper.__exit__(None, None, None)
        request.db_round_trips = counter.count
        if self.header:
            response["X-DB-Queries"] = str(counter.count)
        return response
