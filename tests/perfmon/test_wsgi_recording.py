"""``record_from_environ``: what one request adds to the worker's counters."""

from __future__ import annotations

import pytest

from perfmon.recorder import SEPARATOR, series_key
from perfmon.wsgi import BYTES, CACHE, DB, ROUTE, record_from_environ
from tests.conftest import token_for, wsgi_get


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

    total = recorder.pending_totals()
    prefix = series_key("GET", "/test/recording") + SEPARATOR
    assert total[prefix + "n"] == 1
    assert total[prefix + "bytes"] == size
    outcomes = {name: total.get(prefix + name) for name in ("hit", "miss", "stale")}
    assert outcomes == {name: (1 if name == cache else None) for name in outcomes}


def test_an_outcome_and_size_left_in_the_environ_are_recorded_without_the_headers(recorder):
    """The cache's hit path leaves what it wrote in the environ; the headers are not read."""
    environ = {"REQUEST_METHOD": "GET", ROUTE: "/test/recording", CACHE: "STALE", BYTES: 321}
    record_from_environ(environ, status=200, seconds=0.001, headers=[("X-Cache", "HIT")])

    total = recorder.pending_totals()
    prefix = series_key("GET", "/test/recording") + SEPARATOR
    assert total[prefix + "stale"] == 1 and prefix + "hit" not in total
    assert total[prefix + "bytes"] == 321


def test_every_field_of_a_request_is_counted_once_per_slot_and_in_the_total(recorder):
    environ = {"REQUEST_METHOD": "POST", ROUTE: "/test/recording"}
    for status in (201, 404, 503):
        record_from_environ(
            environ, status=status, seconds=0.002, headers=[("Content-Length", "10")]
        )
    environ[DB] = (3, 0.0005)
    record_from_environ(environ, status=200, seconds=10.0, headers=[("X-Cache", "MISS")])

    prefix = series_key("POST", "/test/recording") + SEPARATOR
    total = recorder.pending_totals()
    slots = dict(recorder._pending)
    assert "total" not in slots  # added up when published
    assert sum(fields.get(prefix + "n", 0) for fields in slots.values()) == 4
    assert total[prefix + "n"] == 4
    assert total[prefix + "e4"] == 1 and total[prefix + "e5"] == 1
    assert total[prefix + "bytes"] == 30
    assert total[prefix + "dbn"] == 3 and total[prefix + "dbus"] == 500
    assert total[prefix + "miss"] == 1
    assert total[prefix + "slow"] == 1  # 10 s is over any budget
    assert total[prefix + "us"] == 3 * 2000 + 10_000_000
    assert sum(v for k, v in total.items() if k.startswith(prefix + "b:")) == 4


@pytest.mark.django_db
def test_a_hit_answered_before_django_is_recorded_as_the_client_saw_it(recorder, tenant_a):
    """The outcome and size the hit path leaves in the environ are those of its headers."""
    token = token_for("member", tenant_a.id)
    path = f"/api/v1/clinics/{tenant_a.clinics[0].pk}"
    assert wsgi_get(path, token)[1]["X-Cache"] == "MISS"
    before = recorder.pending_totals()
    _, headers, body = wsgi_get(path, token)
    assert headers["X-Cache"] == "HIT"

    after = recorder.pending_totals()
    added = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    (series,) = {k.rsplit(SEPARATOR, 1)[0] for k in added}
    assert added[series + SEPARATOR + "hit"] == 1
    assert added[series + SEPARATOR + "bytes"] == int(headers["Content-Length"]) == len(body)


class CapturingSink:
    """Keeps what each flush publishes (the recorder's own sink is not under test here)."""

    def __init__(self) -> None:
        self.published: list[dict[str, dict[str, int]]] = []

    def publish(self, deltas, samples) -> None:
        self.published.append(deltas)

    def claim(self, name, seconds) -> bool:
        return False


def test_requests_recorded_while_flushes_run_are_each_published_once():
    """``record()`` queues; flushes on another thread add the queue up and publish it. Every
    request ends up in exactly one publication (none lost between a swap and an append,
    none published twice)."""
    import threading

    from perfmon.recorder import Recorder

    sink = CapturingSink()
    recorder = Recorder(sink)
    recorder._flusher_pid = recorder._pid  # no background flusher: this test flushes
    threads, per_thread = 4, 3000
    done = threading.Event()

    def requests() -> None:
        for i in range(per_thread):
            recorder.record(
                method="GET",
                route="/test/concurrent",
                status=200,
                seconds=0.001,
                cache="HIT" if i % 2 else None,
                response_bytes=10,
            )

    def flushes() -> None:
        while not done.is_set():
            recorder.flush(log_summary=False)

    flusher = threading.Thread(target=flushes)
    flusher.start()
    workers = [threading.Thread(target=requests) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    flusher.join()
    recorder.flush(log_summary=False)

    prefix = series_key("GET", "/test/concurrent") + SEPARATOR
    totals = [deltas["total"] for deltas in sink.published]
    assert sum(t.get(prefix + "n", 0) for t in totals) == threads * per_thread
    assert sum(t.get(prefix + "hit", 0) for t in totals) == threads * per_thread // 2
    assert sum(t.get(prefix + "bytes", 0) for t in totals) == threads * per_thread * 10
    assert len(sink.published) > 1  # flushes did run while requests were recorded


def test_the_queue_is_added_up_by_record_itself_when_no_flush_comes(monkeypatch):
    """A worker whose flushes stall (a hung sink) keeps a bounded queue: past the bound,
    ``record()`` adds the queue up itself, and nothing is lost."""
    from perfmon import recorder as module
    from perfmon.recorder import Recorder

    monkeypatch.setattr(module, "_MAX_QUEUED", 50)
    recorder = Recorder(CapturingSink())
    recorder._flusher_pid = recorder._pid
    for _ in range(175):
        recorder.record(method="GET", route="/test/bounded", status=200, seconds=0.001)
        assert len(recorder._queue) < 50
    prefix = series_key("GET", "/test/bounded") + SEPARATOR
    assert recorder.pending_totals()[prefix + "n"] == 175
