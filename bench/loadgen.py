"""An open-model, constant-rate HTTP load generator that times requests from their *scheduled* send time.

Request ``i`` is due at ``t0 + i / rate`` whether or not earlier requests have
finished (no coordinated omission): a stalled server shows up as latency, not
as a politely reduced offered load. Keep-alive HTTP/1.1 connections are pooled
and opened on demand up to ``max_connections``; a request still queued for a
connection when the pool is exhausted keeps accruing latency from its
scheduled time. Loopback only.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Request:
    route: str  # route template, for per-route statistics
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    tag: str = ""  # the caller's note (bench/soak: what an acknowledged write must leave behind)


@dataclass(slots=True)
class Sample:
    route: str
    latency_ms: float
    status: int
    cache: str
    size: int
    tag: str = ""
    at: float = 0.0  # scheduled send time, seconds after the run's start


@dataclass
class RunResult:
    offered_rate: float
    duration_s: float
    samples: list[Sample] = field(default_factory=list)
    errors: int = 0  # transport errors and timeouts (status 0)
    error_kinds: dict[str, int] = field(default_factory=dict)  # exception name -> count

    @property
    def sent(self) -> int:
        return len(self.samples)

    def latencies(self, route: str | None = None) -> list[float]:
        return sorted(s.latency_ms for s in self.samples if route is None or s.route == route)

    @property
    def error_rate(self) -> float:
        failed = sum(1 for s in self.samples if s.status == 0 or s.status >= 500)
        return failed / max(1, len(self.samples))

    @property
    def completed(self) -> int:
        return sum(1 for s in self.samples if s.status)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


#: Idle connections older than this are closed, not reused: gunicorn closes keep-alive connections
#: idle for its ``--keep-alive`` (30 s in bench/servers.py), and reusing one it has just closed
#: reads an EOF, an error of the load generator, not of the service (as HTTP clients do).
IDLE_SECONDS = 15.0


class _Pool:
    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.slots = asyncio.Semaphore(limit)

    async def acquire(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        await self.slots.acquire()
        now = asyncio.get_running_loop().time()
        while self.idle:
            reader, writer, since = self.idle.pop()
            if now - since < IDLE_SECONDS:
                return reader, writer
            writer.close()
        try:
            return await asyncio.open_connection(self.host, self.port)
        except Exception:
            self.slots.release()
            raise

    def release(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        if conn is not None:
            self.idle.append((*conn, asyncio.get_running_loop().time()))
        self.slots.release()


async def _send(pool: _Pool, request: Request, timeout: float) -> tuple[int, str, int]:
    conn = await pool.acquire()
    reader, writer = conn
    try:
        head = [f"{request.method} {request.path} HTTP/1.1", f"Host: {pool.host}:{pool.port}"]
        head += [f"{k}: {v}" for k, v in request.headers]
        if request.body:
            head += ["Content-Type: application/json", f"Content-Length: {len(request.body)}"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + request.body)
        status_line = await asyncio.wait_for(reader.readline(), timeout)
        status = int(status_line.split()[1])
        length, cache, close, chunked = 0, "", False, False
        while True:
            line = await asyncio.wait_for(reader.readline(), timeout)
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "x-cache":
                cache = value.strip()
            elif name == "connection" and "close" in value.lower():
                close = True
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:  # sizes in hex, each chunk then CRLF, a 0-size chunk and trailers last
            while size := int(
                (await asyncio.wait_for(reader.readline(), timeout)).split(b";")[0], 16
            ):
                await asyncio.wait_for(reader.readexactly(size + 2), timeout)
                length += size
            while (await asyncio.wait_for(reader.readline(), timeout)) not in (b"\r\n", b""):
                pass
        elif length:
            await asyncio.wait_for(reader.readexactly(length), timeout)
        if close:
            writer.close()
            conn = None
        return status, cache, length
    except BaseException:  # a cancelled request (timeout) too: its answer may still arrive
        writer.close()
        conn = None
        raise
    finally:
        pool.release(conn)


async def _run(
    host: str,
    port: int,
    rate: float,
    duration: float,
    pick: Callable[[random.Random], Request],
    seed: int,
    max_connections: int,
    timeout: float,
) -> RunResult:
    pool = _Pool(host, port, max_connections)
    rng = random.Random(seed)
    result = RunResult(offered_rate=rate, duration_s=duration)
    total = int(rate * duration)
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05
    tasks = []

    async def one(due: float, request: Request) -> None:
        try:
            status, cache, size = await asyncio.wait_for(_send(pool, request, timeout), timeout)
        except Exception as exc:
            status, cache, size = 0, "", 0
            result.errors += 1
            kind = type(exc).__name__
            result.error_kinds[kind] = result.error_kinds.get(kind, 0) + 1
        result.samples.append(
            Sample(
                request.route,
                (loop.time() - due) * 1000,
                status,
                cache,
                size,
                request.tag,
                due - t0,
            )
        )

    for i in range(total):
        due = t0 + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(due, pick(rng))))
    await asyncio.gather(*tasks)
    for _, writer, _ in pool.idle:
        writer.close()
    return result


def run_constant_rate(
    *,
    host: str,
    port: int,
    rate: float,
    duration: float,
    pick: Callable[[random.Random], Request],
    seed: int = 1,
    max_connections: int = 256,
    timeout: float = 10.0,
) -> RunResult:
    """Offer ``rate`` requests/s for ``duration`` seconds; every latency counts from the scheduled time."""
    return asyncio.run(_run(host, port, rate, duration, pick, seed, max_connections, timeout))
