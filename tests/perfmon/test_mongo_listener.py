"""The pymongo CommandListener behind MongoDB's slow-command log and round-trip counts.

pymongo calls the listener with these event objects on the thread that ran the
command; the test hands it the events a slow ``aggregate`` produces (no server
is needed to exercise the listener itself; the MongoDB lanes run it for real).
"""

from __future__ import annotations

import datetime
import json
import logging

from pymongo import monitoring

from perfmon import db
from perfmon.mongo import CommandObserver, redact

COMMAND = {
    "aggregate": "providers_provider",
    "pipeline": [
        {"$match": {"organization_id": "6b0af13659b3f2109e12e0ac", "email": "jane@example.com"}},
        {"$sort": {"created_at": -1, "_id": -1}},
        {"$limit": 21},
        {"$project": {"last_name": 1}},
    ],
    "cursor": {},
    "$db": "enterprise",
    "lsid": {"id": "secret-session"},
}


def test_redaction_keeps_operators_and_field_names_and_drops_every_value():
    shape = redact(COMMAND)
    text = json.dumps(shape)
    assert "jane@example.com" not in text and "6b0af13659b3f2109e12e0ac" not in text
    assert "lsid" not in shape
    assert shape["$db"] == "enterprise"
    stage = shape["pipeline"][0]["$match"]
    assert stage == {"organization_id": "?", "email": "?"}
    assert shape["pipeline"][1] == {"$sort": {"created_at": "?", "_id": "?"}}


def _events(request_id: int, milliseconds: int):
    started = monitoring.CommandStartedEvent(
        dict(COMMAND), "enterprise", request_id, ("127.0.0.1", 27017), request_id
    )
    succeeded = monitoring.CommandSucceededEvent(
        datetime.timedelta(milliseconds=milliseconds),
        {"ok": 1},
        "aggregate",
        request_id,
        ("127.0.0.1", 27017),
        request_id,
    )
    return started, succeeded


def test_a_slow_command_is_one_redacted_line_and_every_command_is_a_round_trip(caplog, recorder):
    observer = CommandObserver()
    caplog.set_level(logging.WARNING, logger="perfmon.slow")
    with db.observing("/api/v1/providers") as observation:
        for request_id, ms in ((1, 3), (2, 250)):
            started, succeeded = _events(request_id, ms)
            observer.started(started)
            observer.succeeded(succeeded)
        ping = monitoring.CommandStartedEvent({"ping": 1}, "admin", 3, ("h", 1), 3)
        observer.started(ping)  # driver housekeeping: not the application's round trip

    assert observation.round_trips == 2
    assert 0.25 <= observation.seconds < 0.26
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "perfmon.slow"]
    (line,) = lines
    assert line["vendor"] == "mongodb" and line["route"] == "/api/v1/providers"
    assert line["statement"]["command"] == "aggregate"
    assert line["statement"]["collection"] == "providers_provider"
    assert "jane@example.com" not in json.dumps(line)
