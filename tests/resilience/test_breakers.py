"""Circuit breaker states, shared state across processes, and a store that is down."""

from __future__ import annotations

import dataclasses
import multiprocessing
import socket
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from enterprise.cache.stores import RedisStore, get_store
from enterprise.resilience.breakers import BreakerConfig, CircuitBreaker
from enterprise.resilience.storage import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    FallbackStorage,
    LocalStorage,
    RedisStorage,
)

FAST = BreakerConfig(
    failure_rate=0.5,
    minimum_calls=4,
    consecutive_failures=3,
    window_seconds=10,
    open_seconds=0.2,
    probes=2,
    sync_seconds=0,
)


def local_breaker(config: BreakerConfig = FAST) -> CircuitBreaker:
    return CircuitBreaker("test", LocalStorage(), config)


def test_consecutive_failures_open_it_and_an_open_breaker_refuses():
    breaker = local_breaker()
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == CLOSED
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == OPEN
    assert not breaker.allow()
    assert breaker.retry_after_seconds() == 1


def test_the_failure_rate_needs_the_minimum_number_of_calls():
    breaker = local_breaker(BreakerConfig(minimum_calls=4, consecutive_failures=99, sync_seconds=0))
    for outcome in ("fail", "ok", "fail"):
        breaker.allow()
        breaker.failure() if outcome == "fail" else breaker.success()
    assert breaker.state == CLOSED  # 2 of 3 failed, but 3 < minimum_calls
    breaker.allow()
    breaker.failure()
    assert breaker.state == OPEN  # 3 of 4


def test_half_open_lets_a_bounded_number_of_probes_through_then_closes():
    breaker = local_breaker()
    for _ in range(3):
        breaker.allow()
        breaker.failure()
    time.sleep(0.25)  # past OPEN_SECONDS

    # Five concurrent callers: exactly PROBES of them are let through.
    barrier = threading.Barrier(5)
    allowed: list[bool] = []
    states: list[str] = []

    def caller() -> None:
        ok = breaker.allow()
        allowed.append(ok)
        barrier.wait()
        states.append(breaker.snapshot()[0])
        barrier.wait()
        if ok:
            breaker.success()  # each thread reports its own probe

    threads = [threading.Thread(target=caller) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(allowed) == [False, False, False, True, True]
    assert set(states) == {HALF_OPEN}
    assert breaker.state == CLOSED
    assert breaker.allow()


def test_a_failing_probe_opens_it_again():
    breaker = local_breaker()
    for _ in range(3):
        breaker.allow()
        breaker.failure()
    time.sleep(0.25)
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == OPEN
    assert not breaker.allow()


def test_forced_open_stays_open_until_reset():
    breaker = local_breaker()
    breaker.force_open()
    time.sleep(0.25)
    assert not breaker.allow()
    assert breaker.snapshot()[2] is True
    breaker.reset()
    assert breaker.allow() and breaker.state == CLOSED


class CountingStorage(LocalStorage):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def read(self):
        self.reads += 1
        return super().read()


def test_the_closed_path_takes_no_lock_and_reads_the_store_once_per_sync_interval():
    storage = CountingStorage()
    breaker = CircuitBreaker("test", storage, BreakerConfig(sync_seconds=60))
    breaker._probe  # noqa: B018 - built in the constructor, not per call
    for _ in range(10_000):
        assert breaker.allow()
        breaker.success()
    assert storage.reads == 1


# -- shared through Redis ----------------------------------------------------------------


def redis_client():
    store = get_store()
    if not isinstance(store, RedisStore):
        pytest.skip("needs REDIS_URL (scripts/test provides a Redis server)")
    return store.client


#: FAST, but open long enough that a slow fork/join on a loaded machine cannot reach half-open.
SHARED = dataclasses.replace(FAST, open_seconds=60)


def _open_from_another_process(name: str) -> None:
    breaker = CircuitBreaker(name, FallbackStorage(RedisStorage(redis_client(), name)), SHARED)
    for _ in range(3):
        breaker.allow()
        breaker.failure()


def test_a_transition_made_by_one_worker_process_is_seen_by_another():
    client = redis_client()
    name = f"shared-{time.time_ns()}"
    mine = CircuitBreaker(name, FallbackStorage(RedisStorage(client, name)), SHARED)
    assert mine.allow() and mine.state == CLOSED

    other = multiprocessing.get_context("fork").Process(
        target=_open_from_another_process, args=(name,)
    )
    other.start()
    other.join(20)
    assert other.exitcode == 0

    assert mine.state == OPEN  # sync_seconds=0: read at once
    assert not mine.allow()
    mine.reset()
    assert mine.allow()
    client.delete(f"breaker:{name}")


@pytest.fixture
def silent_listener():
    """A port that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


@pytest.mark.parametrize("hung", [False, True], ids=["stopped", "hung"])
def test_with_its_store_down_the_breaker_works_locally_without_added_latency(hung, silent_listener):
    port = silent_listener if hung else _closed_port()
    # The production client's settings (enterprise/settings.py CACHES): 200 ms timeouts, one retry.
    client = redis.Redis(
        port=port, socket_timeout=0.2, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 1)
    )
    # Constructing it touches nothing (an app must start with Redis down).
    breaker = CircuitBreaker("down", FallbackStorage(RedisStorage(client, "down")), FAST)

    started = time.monotonic()
    assert breaker.allow()  # the one call that finds out: at most one socket timeout
    first = time.monotonic() - started
    assert first < 1.0

    started = time.monotonic()
    for _ in range(200):
        breaker.allow()
        breaker.failure()
    elapsed = time.monotonic() - started
    assert elapsed < 0.1, elapsed  # local state, no network, no timeouts
    assert breaker.state == OPEN
    assert breaker.storage.name == "local"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_first_breaker_of_a_fresh_process_does_not_deadlock_building_the_cache_store():
    """Regression: a worker's first request was a write, so breaker("database") built the
    cache store, whose Redis gate builds breaker("redis"): under one lock, a deadlock."""
    from enterprise.cache.stores import reset_store
    from enterprise.resilience.breakers import breaker

    reset_store()  # no store, no breakers: a freshly forked worker
    done: list[str] = []
    thread = threading.Thread(target=lambda: done.append(breaker("database").state), daemon=True)
    thread.start()
    thread.join(5)
    assert done == [CLOSED]
