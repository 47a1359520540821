"""``record_from_environ``: what one request adds to the worker's counters."""

from __future__ import annotations

import pytest

from perfmon.recorder import SEPARATOR, series_key
from perfmon.wsgi import ROUTE, record_from_environ


@pytest.mark.parametrize(
    ("headers", "cache", "size"),
    [
        ([("X-Cache", "HIT"), ("Content-Length", "397")], "hit", 397),
        ([("x-cache", "MISS"), ("CONTENT-LENGTH", "12")], "miss", 12),
        # Same lengths, other names; and a missing length, sized from the body.
        ([("Expires", "0"), ("X-Request-ID-1", "x"), ("Content-Type", "text/plain")], None, 5),
    ],
)
def test_cache_outcome_and_size_come_from_the_headers_in_any_case(recorder, headers, cache, size):
    class Body:
        content = b"hello"

    environ = {"REQUEST_METHOD": "GET", ROUTE: "/test/recording"}
    record_from_environ(environ, status=200, seconds=0.001, headers=headers, result=Body())

    total = recorder._pending["total"]
    prefix = series_key("GET", "/test/recording") + SEPARATOR
    assert total[prefix + "n"] == 1
    assert total[prefix + "bytes"] == size
    outcomes = {name: total.get(prefix + name) for name in ("hit", "miss", "stale")}
    assert outcomes == {name: (1 if name == cache else None) for name in outcomes}
