"""The database breaker at the request boundary: fail fast, degrade, and learn from each request.

``DatabaseGuardMiddleware`` asks the ``database`` breaker before a request
runs. While it is open, the request is answered at once with a 503 and
``Retry-After`` (the response cache middleware, outside this one, replaces
a GET's 503 with the last stored copy, marked ``X-Cache: STALE``); writes
never start, so nothing can be half-applied. When the request ran, it
reports to the breaker: a failure when the database could not be reached
(the API's exception handler marks the request, see ``database_error_kind``),
a success when it made at least one round trip, nothing otherwise.
The monitoring endpoints are not guarded: they must answer during an outage.
A read (GET/HEAD) that found the database unreachable *quickly* (connection
refused, connection killed: a restart or failover, not a server that stopped
answering) is retried after each of ``RESILIENCE["READ_RETRY_DELAYS"]`` on a
fresh connection while the breaker allows it, so a restart or failover of a second or two costs readers time,
not errors; the breaker counts one failure per request, not per attempt.

Which errors mean "the database is unavailable" (503, breaker failure) and
which mean "this statement ran out of time" (504, not a failure of the
database): ``database_error_kind``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from enterprise.resilience.breakers import breaker
from enterprise.resilience.budgets import classify, deadline_cut, within_budget
from perfmon.db import current

UNAVAILABLE, TIMEOUT = "unavailable", "timeout"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Only an attempt that failed this fast (refused, or its connection killed) is retried.
FAST_FAILURE_SECONDS = 0.5
# Monitoring must answer during an outage (health reports it; breakers can be reset).
UNGUARDED = ("/api/v1/performance/", "/metrics", "/admin/performance/")
_BODY = {
    UNAVAILABLE: (
        503,
        "database_unavailable",
        "The database is unavailable; nothing was changed. Retry after the Retry-After delay.",
    ),
    TIMEOUT: (504, "timeout", "The request ran past its time budget and was cancelled."),
}


def database_error_kind(exc: BaseException) -> str | None:
    """``"timeout"``, ``"unavailable"`` or ``None`` (not a database availability problem)."""
    if deadline_cut() and isinstance(exc, (OperationalError, InterfaceError)):
        return TIMEOUT  # the watchdog cut a connection to a server that stopped answering
    cause = exc.__cause__ or exc
    name = type(cause).__name__
    if (
        name in {"QueryCanceled", "ExecutionTimeout"}
        or "statement timeout" in str(cause)
        or (name == "OperationalError" and str(cause) == "interrupted")  # SQLite's deadline
    ):
        return TIMEOUT
    if isinstance(exc, (OperationalError, InterfaceError)):
        return UNAVAILABLE
    try:
        from pymongo.errors import ConnectionFailure
    except ImportError:  # pragma: no cover - pymongo is a requirement
        return None
    # Django may wrap the driver's error in its own DatabaseError: look at both.
    return (
        UNAVAILABLE
        if isinstance(exc, ConnectionFailure) or isinstance(cause, ConnectionFailure)
        else None
    )


def database_error_response(kind: str) -> JsonResponse:
    """The 503/504 answer, marked so the cache middleware may substitute a stale copy."""
    from enterprise.api.exceptions import error_body

    status, code, message = _BODY[kind]
    response = JsonResponse(error_body(code, message), status=status)
    response["Cache-Control"] = "no-store"
    if kind == UNAVAILABLE:
        response["Retry-After"] = str(breaker("database").retry_after_seconds())
        response.database_unavailable = True
    return response


def close_broken_connections() -> None:
    """Drop this thread's connections so the next attempt connects afresh."""
    for connection in connections.all(initialized_only=True):
        if connection.vendor != "mongodb" and not connection.in_atomic_block:
            connection.close()


def mark_database_failure(request: HttpRequest | None, kind: str) -> None:
    if request is not None:
        request.database_failure = kind


class DatabaseGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(UNGUARDED):
            return self.get_response(request)
        guard = breaker("database")
        if not guard.allow():
            return database_error_response(UNAVAILABLE)
        observation = current()
        trips_before = observation.round_trips if observation is not None else 0
        attempt_started = time.monotonic()
        response, cut = self._run(request, guard)
        failure = getattr(request, "database_failure", None)
        # A read that found the database unreachable (a restart, a failover) is retried after
        # a short pause, on a fresh connection, while the breaker still allows calls: reads
        # are idempotent, so a client sees a slower answer instead of an error. Writes never.
        for delay in settings.RESILIENCE["READ_RETRY_DELAYS"]:
            if failure != UNAVAILABLE or cut or request.method not in SAFE_METHODS:
                break
            if time.monotonic() - attempt_started > FAST_FAILURE_SECONDS:
                break  # it failed by timing out: the server is unresponsive, not restarting
            close_broken_connections()
            time.sleep(delay)
            if not guard.allow():
                break
            request.database_failure = failure = None
            attempt_started = time.monotonic()
            response, cut = self._run(request, guard)
            failure = getattr(request, "database_failure", None)
        if failure == UNAVAILABLE or cut:  # a server too frozen to cancel is a failed server
            guard.failure()
        elif observation is not None and observation.round_trips > trips_before:
            guard.success()
        else:
            guard.release()
        return response

    def _run(self, request: HttpRequest, guard: Any) -> tuple[HttpResponse, bool]:
        try:
            response = self.get_response(request)
        except BaseException:
            guard.release()
            raise
        finally:
            cut = deadline_cut()
            budget = getattr(request, "_budget", None)
            if budget is not None:
                request._budget = None
                budget.__exit__(None, None, None)
        return response, cut

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        """Enter the request's time budget (enterprise.resilience.budgets) once the view is known."""
        if request.path_info.startswith(UNGUARDED):
            return
        budget = within_budget(classify(request, view))
        try:
            budget.__enter__()
        except Exception as exc:  # e.g. MongoDB unreachable when checked before the view
            kind = database_error_kind(exc)
            if kind is None:
                raise
            mark_database_failure(request, kind)
            return database_error_response(kind)
        request._budget = budget

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Database errors raised outside DRF (the admin, plain views)."""
        kind = database_error_kind(exception)
        if kind is None:
            return None
        mark_database_failure(request, kind)
        return database_error_response(kind)
