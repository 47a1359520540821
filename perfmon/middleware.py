"""``PerfmonMiddleware``: the database side of each request, and its metrics when no WSGI layer ran.

Observes the request's database work (``perfmon.db.observing``), names the
route template for ``MetricsWSGI``, adds ``X-DB-Queries`` with
``PERFMON["QUERY_COUNT_HEADER"]``, and applies the N+1 guard. Under
Django's test client (or a server that calls the bare Django application)
nothing outside Django times the request, so this middleware records it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from perfmon import db
from perfmon.conf import perfmon_settings
from perfmon.routes import route_template
from perfmon.wsgi import DB, RECORDING, ROUTE, record_from_environ


class PerfmonMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        environ = request.environ
        with db.observing() as observation:
            response = self.get_response(request)
        route = environ.get(ROUTE) or route_template(request.resolver_match)
        environ[ROUTE] = route
        environ[DB] = (observation.round_trips, observation.seconds)
        request.db_round_trips = observation.round_trips
        if perfmon_settings()["QUERY_COUNT_HEADER"]:
            response["X-DB-Queries"] = str(observation.round_trips)
        if not environ.get(RECORDING):
            record_from_environ(
                environ,
                status=response.status_code,
                seconds=time.perf_counter() - started,
                headers=response.items(),
                result=None if response.streaming else response,
            )
        observation.route = route
        db.check_repeated_shapes(observation, method=request.method or "GET")
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> None:
        observation = db.current()
        if observation is not None:  # slow-query lines name the route from here on
            observation.route = route_template(request.resolver_match)
