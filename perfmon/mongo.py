"""The pymongo ``CommandListener`` that feeds ``perfmon.db`` on MongoDB (see there).

Kept free of Django imports at module level: settings construct it and hand
it to the client through ``DATABASES["default"]["OPTIONS"]["event_listeners"]``.
"""

from __future__ import annotations

import threading
from typing import Any

from pymongo import monitoring

# Commands that are the driver talking to itself, not the application asking for data.
_HOUSEKEEPING = frozenset(
    {
        "hello",
        "ismaster",
        "isMaster",
        "ping",
        "endSessions",
        "saslStart",
        "saslContinue",
        "buildInfo",
    }
)
# Keys whose values name things rather than carry data: kept as they are.
_NAMING_KEYS = frozenset({"$db", "collection", "from", "localField", "foreignField", "as"})


def redact(value: Any, key: str = "") -> Any:
    """A command with every data value replaced by ``"?"``: operators and field names survive."""
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items() if k not in {"lsid", "$clusterTime"}}
    if isinstance(value, (list, tuple)):
        return [redact(item, key) for item in value[:20]]
    if key in _NAMING_KEYS or (isinstance(value, str) and value.startswith("$")):
        return value
    return "?"


class CommandObserver(monitoring.CommandListener):
    """Round trips, time and slow commands per request; see ``perfmon.db``."""

    def __init__(self) -> None:
        self._started: dict[int, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in _HOUSEKEEPING:
            return
        command = event.command
        collection = command.get(event.command_name)
        summary = {
            "command": event.command_name,
            "collection": collection if isinstance(collection, str) else None,
        }
        with self._lock:
            self._started[event.request_id] = (event.command_name, {**summary, "shape": command})

    def _finished(self, event: Any) -> None:
        with self._lock:
            started = self._started.pop(event.request_id, None)
        if started is None:
            return
        from perfmon import db

        name, details = started
        db.captured_operation("mongodb", details["shape"], None)
        seconds = event.duration_micros / 1e6
        observation = db.current()
        slow = seconds * 1000 > db.perfmon_settings()["SLOW_QUERY_MS"]
        statement = None
        if slow or (observation is not None and observation.track_shapes):
            statement = {
                "command": name,
                "collection": details["collection"],
                "shape": redact(details["shape"]),
            }
        if observation is not None:
            shape = repr(statement) if observation.track_shapes else None
            observation.add(vendor="mongodb", statement=statement, seconds=seconds, shape=shape)
        elif slow:
            db.slow_operation(vendor="mongodb", statement=statement, seconds=seconds, route="")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._finished(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._finished(event)
