"""Replay the benchmark's workload in this process and report the server's CPU per route.

``bench/run`` measures what clients see; this shows where the CPU of the
service goes. The same requests (``bench.run.Workload``: routes, weights,
tenants, 5 % renames) go through the WSGI application gunicorn serves, in one
thread, without gunicorn, the network or the load generator, and each one's
thread CPU time is charged to its route and cache outcome (hit or miss). A
first phase warms the caches and is not counted.

The servers' side of each request is charged too, when they run on this
machine: the CPU time of the PostgreSQL backend serving this process's
connection and of the Redis server, read from ``/proc/<pid>/schedstat``
before and after each request. That is the work ``bench/run`` puts on the
services' core besides the workers' (``--database-cpus server``); a change
that moves work between the app and the database (server-side binding, a
Lua script instead of round trips) needs both sides to be judged. Only the
backend serving the request is counted (not PostgreSQL's background
writers); Redis counts whatever it did meanwhile, which in one process is
this request's work plus perfmon's once-a-second flush.

Run it against a database seeded the way ``bench/run`` seeds one, and the Redis
the service would use (the workload renames clinics: use a throw-away
database)::

    manage.py seed_demo --organizations 200 --clinics-per-org 10 \\
        --providers-per-org 100 --assignments-per-provider 5 --seed 42
    DATABASE_URL=... REDIS_URL=... SECRET_KEY=... JWT_SECRET=... \\
        .venv/bin/python -m bench.replay [--warm 3000] [--requests 3000] \\
        [--profile out.prof [--route "GET /clinics/{id}"]]

Compare two trees by running it from each, alternately: single runs on a
shared machine move by about 5 %. Each run starts with an empty response
cache; the routes whose entries live long (60 s and more) only reach their
steady state after about a minute of traffic (``--warm 40000``).
"""

from __future__ import annotations

import argparse
import collections
import gc
import io
import os
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RouteCost:
    """Requests and thread CPU seconds of one route, by cache outcome; servers' CPU seconds
    (``ServerClocks.SERVERS``) over all its requests."""

    requests: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    server_seconds: collections.Counter[str] = field(default_factory=collections.Counter)


_LOOPBACK = frozenset({"", "localhost", "127.0.0.1", "::1"})


def cpu_seconds(pid: int) -> float | None:
    """CPU time a process has run, from ``/proc/<pid>/schedstat`` (nanoseconds); None if gone."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as stat:
            return int(stat.read().split(maxsplit=1)[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def local_process(pid: int | None, host: str, command: str) -> int | None:
    """``pid`` when the server at ``host`` is this machine's process of that command, else None.

    A server reports its pid in its own pid namespace: on another host, or in
    a container, the same number is some other local process or none. So it
    counts only when the server is reached through loopback or a Unix socket
    and the local process of that pid is the expected program.
    """
    if pid is None or not (host in _LOOPBACK or host.startswith("/")):
        return None
    try:
        with open(f"/proc/{pid}/comm") as comm:
            name = comm.read().strip()
    except OSError:
        return None
    return pid if name.startswith(command) else None


class ServerClocks:
    """CPU seconds so far of the local PostgreSQL backend serving this thread and of Redis."""

    SERVERS = ("database", "redis")

    def __init__(self) -> None:
        self.redis_pid = self._redis_pid()
        #: (backend pid, that pid if it is a local PostgreSQL process): checked once per backend.
        self._backend: tuple[int, int | None] | None = None

    @staticmethod
    def _redis_pid() -> int | None:
        from enterprise.cache.stores import RedisStore, get_store

        store = get_store()
        if not isinstance(store, RedisStore):
            return None
        kwargs = store.client.connection_pool.connection_kwargs
        try:
            pid = int(store.client.info("server")["process_id"])
        except Exception:  # no Redis to ask: nothing to charge
            return None
        return local_process(pid, kwargs.get("path") or kwargs.get("host", ""), "redis-server")

    def database_pid(self) -> int | None:
        """The backend of this thread's open connection (it may reconnect between requests)."""
        from django.db import connection

        if connection.vendor != "postgresql" or connection.connection is None:
            return None
        pid = connection.connection.info.backend_pid
        if self._backend is None or self._backend[0] != pid:
            host = connection.settings_dict.get("HOST") or ""
            self._backend = (pid, local_process(pid, host, "postgres"))
        return self._backend[1]

    def read(self) -> dict[str, tuple[int, float] | None]:
        """Per server, (pid, CPU seconds), or None when it is not a local process."""
        readings: dict[str, tuple[int, float] | None] = {}
        for server, pid in (("database", self.database_pid()), ("redis", self.redis_pid)):
            seconds = cpu_seconds(pid) if pid else None
            readings[server] = (pid, seconds) if pid and seconds is not None else None
        return readings


@dataclass
class CollectionsTimer:
    """Garbage collections during the counted requests: how many and their thread CPU, by generation
    (already inside the routes' costs; a full collection stalls every thread of a worker)."""

    counts: list[int] = field(default_factory=lambda: [0, 0, 0])
    seconds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    started: float = 0.0

    def observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.thread_time()
        else:
            self.counts[info["generation"]] += 1
            self.seconds[info["generation"]] += time.thread_time() - self.started

    def report(self) -> str:
        return "garbage collections (generation: count, ms each): " + ", ".join(
            f"{g}: {n}, {self.seconds[g] * 1000 / n if n else 0:.2f}"
            for g, n in enumerate(self.counts)
        )


def wsgi_environ(
    method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes | None = None
) -> dict:
    """A WSGI environ for one request to the service (``path`` may carry a query string)."""
    path, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "3017",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body or b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body or b"")),
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
    for name, value in headers:
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def call(application: Callable[..., Iterable[bytes]], request: Any) -> tuple[int, str]:
    """One workload request through the WSGI application: (status, ``X-Cache`` or "")."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, headers

    body = application(
        wsgi_environ(request.method, request.path, request.headers, request.body), start_response
    )
    try:
        b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    cache = next((v for k, v in seen["headers"] if k.lower() == "x-cache"), "")
    return int(seen["status"].split()[0]), cache


def workload_ids() -> dict[str, Any]:
    """What ``bench.run.load_ids`` reads, through the ORM (any database backend)."""
    from assignments.models import ProviderClinicAssignment
    from clinics.models import Clinic
    from organizations.models import Organization
    from providers.models import Provider

    clinics: dict[str, list[str]] = collections.defaultdict(list)
    for org, clinic in Clinic.objects.order_by("pk").values_list("organization_id", "pk"):
        clinics[org].append(clinic)
    providers: dict[str, list[str]] = collections.defaultdict(list)
    active = ProviderClinicAssignment.objects.filter(is_active=True).values("provider_id")
    for org, provider in (
        Provider.objects.filter(pk__in=active).order_by("pk").values_list("organization_id", "pk")
    ):
        providers[org].append(provider)
    return {
        "orgs": list(Organization.objects.order_by("pk").values_list("pk", flat=True)),
        "clinics": dict(clinics),
        "providers": dict(providers),
    }


def replay(
    *,
    warm: int,
    requests: int,
    seed: int,
    profile: Any = None,
    route: str | None = None,
    collections_timer: CollectionsTimer | None = None,
    freeze: bool = True,
) -> dict[str, RouteCost]:
    """Send ``warm`` uncounted requests, then ``requests`` counted ones; costs per route.

    The run starts from an empty response cache (an epoch bump): a second run
    with the same seed would otherwise hit the entries the first one stored,
    and look cheaper than it is.

    With ``profile`` (a ``cProfile.Profile``), the counted requests of ``route``
    (all of them without one) run under it.
    """
    from bench.run import Workload
    from enterprise.api.authentication import issue_token
    from enterprise.cache.stores import get_store
    from enterprise.tenancy import Role
    from enterprise.warmup import freeze_startup_objects
    from enterprise.wsgi import application

    if freeze:
        freeze_startup_objects()  # as gunicorn's master does before forking (gunicorn.conf.py)

    ids = workload_ids()
    tokens = {
        org: tuple(
            issue_token(subject="replay", role=role, organization_id=org, ttl_seconds=3600)
            for role in (Role.MEMBER, Role.ORG_ADMIN)
        )
        for org in ids["orgs"]
    }
    workload = Workload(ids, tokens)
    if not workload.orgs:
        raise SystemExit("replay: no organization with clinics and assigned providers (seed first)")
    get_store().bump_epoch()
    rng = random.Random(seed)
    for _ in range(warm):
        call(application, workload.pick(rng))
    costs: dict[str, RouteCost] = collections.defaultdict(RouteCost)
    clocks = ServerClocks()
    if collections_timer is not None:
        gc.callbacks.append(collections_timer.observe)
    for request in [workload.pick(rng) for _ in range(requests)]:
        profiled = profile is not None and route in (None, request.route)
        servers_before = clocks.read()
        started = time.thread_time()
        if profiled:
            profile.enable()
        status, cache = call(application, request)
        if profiled:
            profile.disable()
        outcome = "hit" if cache in ("HIT", "STALE") else "miss"
        cost = costs[request.route]
        cost.requests[outcome] += 1
        cost.seconds[outcome] += time.thread_time() - started
        cost.statuses[status] += 1
        for server, after in clocks.read().items():
            before = servers_before[server]
            if before and after and before[0] == after[0]:  # not across a reconnection
                cost.server_seconds[server] += after[1] - before[1]
    if collections_timer is not None:
        gc.callbacks.remove(collections_timer.observe)
    return dict(costs)


def _not_counted(servers: dict[str, float]) -> list[str]:
    """Why a server's CPU is missing from the report."""
    from django.db import connection

    notes = []
    if "database" not in servers:
        notes.append(
            "SQLite runs in this process: its CPU is the app's"
            if connection.vendor == "sqlite"
            else f"{connection.display_name} is not a local process: not counted"
        )
    if "redis" not in servers:
        notes.append("Redis not counted: not used, or not a local process")
    return notes


def report(costs: dict[str, RouteCost]) -> str:
    total = sum(sum(c.seconds.values()) for c in costs.values())
    count = sum(sum(c.requests.values()) for c in costs.values())
    servers = {
        server: sum(c.server_seconds[server] for c in costs.values())
        for server in ServerClocks.SERVERS
        if any(server in c.server_seconds for c in costs.values())
    }
    names = {"database": "PostgreSQL backend", "redis": "Redis"}
    headline = f"{count} requests, {total * 1000 / max(count, 1):.3f} ms of CPU per request"
    if servers:
        headline += ", servers: " + ", ".join(
            f"{names[server]} {seconds * 1000 / max(count, 1):.3f} ms"
            for server, seconds in servers.items()
        )
    notes = _not_counted(servers)
    if notes:
        headline += f" ({'; '.join(notes)})"
    labels = {"database": "db ms/req", "redis": "redis ms/req"}
    columns = "".join(f" {labels[server]:>12}" for server in servers)
    lines = [
        headline,
        f"{'share':>6}  {'route':42} {'hits':>5} {'ms/hit':>7} {'misses':>6} {'ms/miss':>7}"
        f"{columns}  statuses",
    ]
    ranked = sorted(costs.items(), key=lambda item: -sum(item[1].seconds.values()))
    for name, cost in ranked:
        share = sum(cost.seconds.values()) / total if total else 0.0
        per = {
            o: cost.seconds[o] * 1000 / cost.requests[o] if cost.requests[o] else 0.0
            for o in ("hit", "miss")
        }
        requests = max(sum(cost.requests.values()), 1)
        server_columns = "".join(
            f" {cost.server_seconds[server] * 1000 / requests:12.3f}" for server in servers
        )
        statuses = " ".join(f"{s}:{n}" for s, n in sorted(cost.statuses.items()))
        lines.append(
            f"{share:6.1%}  {name:42} {cost.requests['hit']:5} {per['hit']:7.2f} "
            f"{cost.requests['miss']:6} {per['miss']:7.2f}{server_columns}  {statuses}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warm", type=int, default=3000, help="uncounted requests first")
    parser.add_argument("--requests", type=int, default=3000, help="counted requests")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="leave start-up objects in the collector's generations (gunicorn's master freezes them)",
    )
    parser.add_argument(
        "--profile", help="write a cProfile (thread CPU time) of the counted requests here"
    )
    parser.add_argument("--route", help='profile only this workload route ("GET /clinics/{id}")')
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enterprise.settings")
    profile = None
    if args.profile:
        import cProfile

        # Thread CPU time, as the report: waiting on the database or Redis costs the worker nothing.
        profile = cProfile.Profile(time.thread_time)
    collections_timer = CollectionsTimer()
    costs = replay(
        warm=args.warm,
        requests=args.requests,
        seed=args.seed,
        profile=profile,
        route=args.route,
        collections_timer=collections_timer,
        freeze=not args.no_freeze,
    )
    print(report(costs))
    print(collections_timer.report())
    if profile is not None:
        profile.dump_stats(args.profile)
        print(f"profile written to {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
