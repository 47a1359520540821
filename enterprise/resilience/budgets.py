"""Time budgets per endpoint class, pushed into the database call itself.

Classes: ``search`` (any request with ``?search=``; 5 s by default),
``report`` (views that declare ``budget_class = "report"`` or list the action
in ``report_actions``, e.g. the organization summary; 120 s) and ``default``
(30 s). gunicorn's worker timeout (150 s) stays above the largest, so the
application's own deadline always answers first.

How each backend enforces it, with no extra round trip for default requests:

* PostgreSQL: ``statement_timeout``, backed by a client-side deadline for a frozen
  server (``enterprise.resilience.watchdog``). The default budget is set once per
  connection (``options=-c statement_timeout=...``); a request of another class
  issues ``SET statement_timeout`` only when the connection's current value
  differs (remembered per connection), so a run of search requests pays it
  once. The server cancels the statement (``QueryCanceled``) -> 504.
* SQLite: a progress handler, installed once per connection, interrupts the
  running statement when the thread's deadline has passed -> 504.
* MongoDB: ``pymongo.timeout(budget)`` around the view: every operation in it
  gets the remaining time as its deadline (client side, so it also holds
  against a server that never answers) -> 504 or 503.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from django.http import HttpRequest

from enterprise.resilience import watchdog

_local = threading.local()


def budget_seconds(name: str) -> float:
    return float(settings.RESILIENCE["BUDGETS"][name])


def classify(request: HttpRequest, view: Callable[..., Any]) -> str:
    """``search``, ``report`` or ``default`` for this request and the view that will answer it."""
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if cls is not None:
        if getattr(cls, "budget_class", None) == "report":
            return "report"
        actions = getattr(view, "actions", None) or {}
        action = actions.get((request.method or "get").lower())
        if action and action in getattr(cls, "report_actions", ()):
            return "report"
    if request.GET.get("search"):
        return "search"
    return "default"


def _sqlite_progress() -> int:
    deadline = getattr(_local, "deadline", None)
    return 1 if deadline is not None and time.monotonic() > deadline else 0


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        # Called every 10,000 SQLite VM steps; a non-zero answer interrupts the statement.
        connection.connection.set_progress_handler(_sqlite_progress, 10_000)


connection_created.connect(_on_connection_created, dispatch_uid="enterprise.resilience.budgets")


def _postgres_timeout(connection: Any, milliseconds: int) -> None:
    raw = connection.connection
    if raw is None:
        connection.ensure_connection()
        raw = connection.connection
    current = getattr(raw, "_enterprise_statement_timeout", None)
    if current is None:
        current = int(budget_seconds("default") * 1000)  # what the connection options set
    if connection.in_atomic_block:
        # A rollback would undo the SET behind the memo's back: never remember; set only for
        # the non-default classes (inside one long transaction, as in tests, a default
        # request after a search keeps the search's value until the transaction ends).
        if milliseconds != int(budget_seconds("default") * 1000):
            with connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(milliseconds)}")
    elif current != milliseconds:
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(milliseconds)}")
        raw._enterprise_statement_timeout = milliseconds


def _mongodb_reachable(connection: Any) -> None:
    """Fail within the server-selection timeout, not the budget, when no server is known to answer.

    Under ``pymongo.timeout()`` server selection waits for the whole remaining budget
    (it replaces ``serverSelectionTimeoutMS``), so an unreachable MongoDB would hold
    every request for its full budget. The topology is checked in memory first; only
    when it knows no writable server (start-up, outage) is a ``ping`` sent, bounded by
    the selection timeout. Raises pymongo's ``ServerSelectionTimeoutError``.
    """
    import pymongo

    client = connection.connection
    if client is not None and client.topology_description.has_writable_server():
        return
    selection_ms = connection.settings_dict["OPTIONS"].get("serverSelectionTimeoutMS", 1000)
    with pymongo.timeout(selection_ms / 1000):
        if client is None:
            connection.ensure_connection()  # its version check is a round trip
        else:
            client.admin.command("ping")


def remaining_seconds() -> float | None:
    """Seconds left in this thread's request budget (``None`` outside a request)."""
    deadline = getattr(_local, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


def deadline_cut() -> bool:
    """Did this thread's watchdog cut a connection off during the current budget?"""
    event = getattr(_local, "cut", None)
    return event is not None and event.is_set()


@contextmanager
def within_budget(name: str) -> Iterator[float]:
    """Run the block under the named budget on every configured database; yields the seconds.

    PostgreSQL also gets a client-side deadline (``enterprise.resilience.watchdog``)
    at the budget plus a margin, for a server too frozen to honour its own timeout.
    """
    seconds = budget_seconds(name)
    _local.deadline = time.monotonic() + seconds
    _local.cut = threading.Event()
    mongo: Any = nullcontext()
    tokens = []
    try:
        for alias in connections:
            connection = connections[alias]
            if connection.vendor == "postgresql":
                tokens.append(
                    watchdog.arm(
                        seconds + watchdog.MARGIN_SECONDS,
                        watchdog.shut_down_postgres_socket(connection, _local.cut),
                    )
                )
                if name != "default" or connection.connection is not None:
                    _postgres_timeout(connection, int(seconds * 1000))
            elif connection.vendor == "mongodb":
                import pymongo

                _mongodb_reachable(connection)
                mongo = pymongo.timeout(seconds)
        with mongo:
            yield seconds
    finally:
        for token in tokens:
            watchdog.disarm(token)
        _local.deadline = None
