"""Benchmark: the optimised service against the naive baseline, side by side in one run.

See the README's performance section, and ``bench/replay.py`` for the CPU per
route. Everything runs on loopback; the services are pinned to CPU 0, the load
generators to CPU 1, and PostgreSQL and Redis (``--database-cpus``) by default
to CPU 0 with the services: the load generator's core is its own, and each
build is charged for the database and cache work it causes (the baseline's 51
round trips a request included).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import Request, RunResult, percentile, run_constant_rate  # noqa: E402
from bench.servers import Postgres, Redis, Service, pinned  # noqa: E402

SECRET = "bench-jwt-secret-not-for-production-0123456789abcdef"
RESULTS = ROOT / "bench" / "results"
#: Every server under test (gunicorn) runs on SERVER_CPU; the load generator on the other core.
SERVER_CPU = "0"
LOADGEN_CPU = "1" if (os.cpu_count() or 1) > 1 else "0"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return out.stdout.strip()


def token(env: dict[str, str], role: str, org: str | None) -> str:
    """A bearer token signed with the services' HS256 secret (what ``manage.py issue_token`` prints)."""
    import jwt

    now = int(time.time())
    claims: dict[str, Any] = {"sub": "bench", "roles": [role], "iat": now, "exp": now + 86400}
    if org:
        claims["org"] = org
    return jwt.encode(claims, env["JWT_SECRET"], algorithm="HS256")


# --- data set ---------------------------------------------------------------------------------------
def load_ids(database_url: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as conn:
        orgs = [
            r[0].strip()
            for r in conn.execute("SELECT id FROM organizations_organization ORDER BY id")
        ]
        clinics: dict[str, list[str]] = {}
        for org, clinic in conn.execute("SELECT organization_id, id FROM clinics_clinic"):
            clinics.setdefault(org.strip(), []).append(clinic.strip())
        providers: dict[str, list[str]] = {}
        for org, provider in conn.execute(
            "SELECT organization_id, id FROM providers_provider WHERE id IN "
            "(SELECT provider_id FROM assignments_providerclinicassignment WHERE is_active)"
        ):
            providers.setdefault(org.strip(), []).append(provider.strip())
        total = conn.execute(
            "SELECT count(*) FROM assignments_providerclinicassignment"
        ).fetchone()[0]
    return {"orgs": orgs, "clinics": clinics, "providers": providers, "assignments": total}


class Workload:
    """The read-heavy mix both builds serve: same requests, same seed."""

    ROUTES = [  # (route, weight)
        ("GET /organizations/{id}", 12),
        ("GET /clinics?organizationId=", 15),
        ("GET /clinics/{id}", 12),
        ("GET /providers", 10),
        ("GET /assignments?clinicId=", 8),
        ("GET /assignments/provider/{id}/clinics", 10),
        ("GET /assignments/clinic/{id}/staff", 10),
        ("GET /organizations/{id}/summary", 5),
        ("GET /providers?search=", 5),
        ("GET /clinics?offset=40 (deep page)", 8),
        ("PATCH /clinics/{id}", 5),
    ]

    def __init__(self, ids: dict[str, Any], tokens: dict[str, tuple[str, str]]) -> None:
        self.ids, self.tokens = ids, tokens
        self.orgs = [o for o in ids["orgs"] if o in ids["clinics"] and o in ids["providers"]]
        # A few tenants are much busier than the rest (Zipf-like), as in production.
        self.org_weights = [1 / (rank + 1) for rank in range(len(self.orgs))]
        self.routes = [r for r, _ in self.ROUTES]
        self.route_weights = [w for _, w in self.ROUTES]

    def pick(self, rng: random.Random) -> Request:
        route = rng.choices(self.routes, self.route_weights)[0]
        org = rng.choices(self.orgs, self.org_weights)[0]
        member, admin = self.tokens[org]
        auth = (("Authorization", f"Bearer {member}"), ("Accept-Encoding", "gzip"))
        clinic = rng.choice(self.ids["clinics"][org])
        provider = rng.choice(self.ids["providers"][org])
        path = {
            "GET /organizations/{id}": f"/api/v1/organizations/{org}",
            "GET /clinics?organizationId=": f"/api/v1/clinics?organizationId={org}",
            "GET /clinics/{id}": f"/api/v1/clinics/{clinic}",
            "GET /providers": "/api/v1/providers?limit=20",
            "GET /assignments?clinicId=": f"/api/v1/assignments?clinicId={clinic}",
            "GET /assignments/provider/{id}/clinics": f"/api/v1/assignments/provider/{provider}/clinics",
            "GET /assignments/clinic/{id}/staff": f"/api/v1/assignments/clinic/{clinic}/staff",
            "GET /organizations/{id}/summary": f"/api/v1/organizations/{org}/summary",
            "GET /providers?search=": f"/api/v1/providers?search={rng.choice(['an', 'ok', 'sm', 'ta'])}",
            "GET /clinics?offset=40 (deep page)": "/api/v1/clinics?offset=40&limit=20",
            "PATCH /clinics/{id}": f"/api/v1/clinics/{clinic}",
        }[route]
        if route.startswith("PATCH"):
            body = json.dumps({"name": f"Clinic {rng.randrange(10**6)}"}).encode()
            return Request(route, "PATCH", path, (("Authorization", f"Bearer {admin}"),), body)
        return Request(route, "GET", path, auth)


# --- measurements -----------------------------------------------------------------------------------
def summarize(result: RunResult) -> dict[str, Any]:
    lat = result.latencies()
    cache = [s.cache for s in result.samples if s.cache]
    return {
        "offered_rps": result.offered_rate,
        "requests": result.sent,
        "completed": result.completed,
        "error_rate": result.error_rate,
        "p50_ms": percentile(lat, 50),
        "p95_ms": percentile(lat, 95),
        "p99_ms": percentile(lat, 99),
        "mean_ms": statistics.fmean(lat) if lat else None,
        "cache_hit_rate": (sum(1 for c in cache if c in ("HIT", "STALE")) / len(cache))
        if cache
        else None,
        "mean_bytes": statistics.fmean(s.size for s in result.samples) if result.samples else None,
    }


#: A sweep's maximum is known to within this fraction of it. Two bisections
#: (the rule until 2026-12-06) left brackets of 9-11 % (optimised 712-777,
#: baseline 76-85 or 85-94), so the ratio of two maxima could only take a few
#: coarse values; each further bisection costs one step (about 8 s) per sweep.
RATE_RESOLUTION = 0.04
#: ``--quick`` keeps about the old two bisections' resolution: its budget is 5 minutes.
QUICK_RATE_RESOLUTION = 0.1
MAX_REFINEMENTS = 6


def sweep(
    service: Service,
    workload: Workload,
    *,
    duration: float,
    start: float,
    factor: float,
    seed: int,
    max_rate: float,
    resolution: float = RATE_RESOLUTION,
) -> dict[str, Any]:
    """Raise the offered rate until P95 >= 200 ms or errors >= 0.1 %; the last passing rate is the max.

    The search is ``highest_passing_rate``'s: the gap between the last passing
    and the first failing rate is bisected down to ``resolution`` of the
    passing one, so the reported maximum is not just a power of ``factor``.

    Every step measures the service in its steady state at that rate: the
    same rate is offered, unrecorded, for half the step's duration first, and
    every phase draws its own requests from the workload (no phase replays
    another's sequence). Replaying one sequence per step made each step's
    first requests repeats of the previous step's (cache hits) and its last
    ones new keys, a burst of cold misses at the end of every step that no
    steady load has.
    """
    steps: list[dict[str, Any]] = []
    phases = iter(range(1, 10_000))

    def step(rate: float) -> bool:
        for recorded in (False, True):
            result = run_constant_rate(
                host="127.0.0.1",
                port=service.port,
                rate=rate,
                duration=duration if recorded else duration / 2,
                pick=workload.pick,
                seed=seed * 10_000 + next(phases),
            )
        summary = summarize(result)
        steps.append(summary)
        ok = (
            summary["p95_ms"] < 200
            and summary["error_rate"] < 0.001
            and summary["completed"] == summary["requests"]
        )
        log(
            f"  {service.name:9} {rate:7.0f} rps  p50 {summary['p50_ms']:7.1f}  p95 {summary['p95_ms']:8.1f}  "
            f"p99 {summary['p99_ms']:8.1f} ms  errors {summary['error_rate']:.2%}  {'ok' if ok else 'over budget'}"
        )
        time.sleep(0.5)
        return ok

    best = highest_passing_rate(
        step, start=start, factor=factor, max_rate=max_rate, resolution=resolution
    )
    return {"max_rps_p95_under_200ms": best, "steps": sorted(steps, key=lambda s: s["offered_rps"])}


def highest_passing_rate(
    passes: Callable[[float], bool],
    *,
    start: float,
    factor: float,
    max_rate: float,
    resolution: float = RATE_RESOLUTION,
    max_refinements: int = MAX_REFINEMENTS,
) -> float:
    """The highest rate ``passes`` accepts: geometric steps up, then bisection of the last gap.

    Rates rise by ``factor`` from ``start`` until one fails (or ``max_rate`` is
    passed); the gap between the last passing rate and the failing one is then
    halved until it is at most ``resolution`` of the passing rate (at most
    ``max_refinements`` times). 0 when even ``start`` fails.
    """
    best, rate, failed = 0.0, start, None
    while rate <= max_rate:
        if not passes(rate):
            failed = rate
            break
        best = rate
        rate = round(rate * factor)
    if not (failed and best):
        return best
    for _ in range(max_refinements):
        if failed - best <= resolution * best:
            break
        middle = round((best + failed) / 2)
        if middle in (best, failed):
            break
        if passes(middle):
            best = middle
        else:
            failed = middle
    return best


def wrk(url: str, headers: dict[str, str], *, seconds: int, connections: int = 16) -> float:
    args = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
    ]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(pinned(LOADGEN_CPU, [*args, url]), capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"wrk produced no rate:\n{out}")


def fetch(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers.items()), response.read()


def invalidate_everything(redis_url: str) -> None:
    """What ``manage.py clear_cache --all`` does: bump the epoch every cached entry is keyed on.

    The next request of every route is a cold miss (responses and cached objects
    alike) without sending it anything the service would not get from a client.
    """
    import redis

    redis.Redis.from_url(redis_url).incr("dos:g:epoch")


def round_trips(
    service: Service,
    paths: dict[str, str],
    headers: dict[str, str],
    repeat: int,
    redis_url: str,
) -> dict[str, Any]:
    """Database round trips per request, from the X-DB-Queries header (absent = answered before Django)."""
    base = f"http://127.0.0.1:{service.port}"
    out: dict[str, Any] = {}
    for route, path in paths.items():
        misses, hits = [], []
        for _ in range(repeat):
            invalidate_everything(redis_url)  # a cold miss
            status, h, _ = fetch(f"{base}{path}", headers)
            assert status == 200, (route, status)
            misses.append(int(h.get("X-DB-Queries", 0)))
        for _ in range(repeat):
            _, h, _ = fetch(f"{base}{path}", headers)
            hits.append(int(h.get("X-DB-Queries", 0)))
        out[route] = {
            "miss_max": max(misses),
            "miss_mean": statistics.fmean(misses),
            "repeat_mean": statistics.fmean(hits[1:]) if repeat > 1 else hits[0],
        }
    return out


def page_times(
    service: Service, urls: dict[str, str], headers: dict[str, str], repeat: int, redis_url: str
) -> dict[str, float]:
    """Median time of each page on a cold miss (the cache is invalidated before every request)."""
    base = f"http://127.0.0.1:{service.port}"
    out = {}
    for label, path in urls.items():
        times = []
        for _ in range(repeat):
            invalidate_everything(redis_url)
            started = time.perf_counter()
            status, _, _ = fetch(f"{base}{path}", headers)
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200, (label, status)
        out[label] = statistics.median(times)
    return out


def clear_perfmon(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match="perfmon:*", count=1000))
    if keys:
        client.delete(*keys)


def compare_with_perfmon(
    service: Service, platform_token: str, result: RunResult, *, window: int
) -> dict[str, Any]:
    """perfmon's own P50/P95/P99 for the phase (all workers, via metrics/summary) vs the load generator's.

    The generator times from the scheduled send to the last byte (network, queueing and
    HTTP included); perfmon from the WSGI call to the response, inside the worker.
    """
    time.sleep(2.5)  # every worker's flush thread has published the phase
    _, _, body = fetch(
        f"http://127.0.0.1:{service.port}/api/v1/performance/metrics/summary?window={window}",
        {"Authorization": f"Bearer {platform_token}"},
    )
    overall = json.loads(body)["window"]["overall"]
    lat = result.latencies()
    loadgen = {q: percentile(lat, q) for q in (50, 95, 99)}
    figures = {
        f"p{q}": {
            "loadgen_ms": loadgen[q],
            "perfmon_ms": overall[f"p{q}Ms"],
            "ratio": overall[f"p{q}Ms"] / loadgen[q] if loadgen[q] else None,
        }
        for q in (50, 95, 99)
    }
    return {
        "requests": {"loadgen": result.completed, "perfmon": overall["requests"]},
        **figures,
    }


def measure_redis_outage(
    redis: Redis,
    optimised: Service,
    nocache: Service,
    workload: Workload,
    *,
    rate: float,
    duration: float,
) -> dict[str, Any]:
    """P95 of the optimised build with Redis stopped, against the same build with the cache off."""

    def run(service: Service, seed: int) -> dict[str, Any]:
        result = run_constant_rate(
            host="127.0.0.1",
            port=service.port,
            rate=rate,
            duration=duration,
            pick=workload.pick,
            seed=seed,
        )
        return summarize(result)

    run(nocache, 6)  # warm-up: connections, imports (the cached build was warmed long ago)
    no_cache = run(nocache, 7)
    redis.stop()
    run(optimised, 6)  # the outage's first seconds: the breaker opens
    stopped = run(optimised, 7)
    return {
        "rate_rps": rate,
        "no_cache": no_cache,
        "redis_stopped": stopped,
        "p95_ratio": stopped["p95_ms"] / no_cache["p95_ms"] if no_cache["p95_ms"] else None,
    }


def cursor_at(database_url: str, depth: int) -> str | None:
    """The cursor a client holds after walking ``depth`` rows of the platform-wide assignment list."""
    import psycopg

    from enterprise.cursors import encode_cursor

    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as conn:
        row = conn.execute(
            "SELECT created_at, id FROM assignments_providerclinicassignment "
            "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
            [depth - 1],
        ).fetchone()
    return encode_cursor([row[0], row[1].strip()], reverse=False) if row else None


# --- main -------------------------------------------------------------------------------------------
def database_cpus_for(args: argparse.Namespace) -> str | None:
    """The CPUs ``--database-cpus`` puts PostgreSQL and Redis on (``None``: any)."""
    return SERVER_CPU if args.database_cpus == "server" else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small data set, short steps (under 5 minutes)"
    )
    parser.add_argument("--organizations", type=int, default=None)
    parser.add_argument("--clinics-per-org", type=int, default=10)
    parser.add_argument("--providers-per-org", type=int, default=None)
    parser.add_argument("--assignments-per-provider", type=int, default=5)
    parser.add_argument(
        "--rounds", type=int, default=None, help="interleaved baseline/optimised rounds"
    )
    parser.add_argument(
        "--step-seconds", type=float, default=None, help="duration of each offered rate"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--database-cpus",
        choices=("server", "any"),
        default="server",
        help="where PostgreSQL and Redis run: on the services' core (default: every build "
        "pays for the database work it causes, the load generator's core stays its own) "
        "or on any core (they then also use the load generator's spare time)",
    )
    # One process with the threads on the one core the services get: with two workers on
    # it, each worker's keep-alive connections queue for its own threads while the other's
    # may idle, and the two preempt each other mid-request (measured in the README).
    parser.add_argument(
        "--workers", type=int, default=1, help="gunicorn workers of every build (default 1)"
    )
    parser.add_argument(
        "--threads", type=int, default=8, help="threads per worker, every build (default 8)"
    )
    parser.add_argument(
        "--no-readme", action="store_true", help="do not rewrite the README's performance table"
    )
    args = parser.parse_args()
    quick = args.quick
    orgs = args.organizations or (20 if quick else 200)
    providers = args.providers_per_org or (50 if quick else 100)
    rounds = args.rounds or (2 if quick else 5)
    step = args.step_seconds or (2.0 if quick else 5.0)

    work = Path(tempfile.mkdtemp(prefix="enterprise-bench-"))
    os.chmod(work, 0o755)
    database_cpus = database_cpus_for(args)
    pg, redis = Postgres(work, cpus=database_cpus), Redis(work, cpus=database_cpus)
    services: list[Service] = []
    started_at = time.time()
    try:
        database_url = pg.start()
        redis_url = redis.start()
        # The load generator (this process: the asyncio clients, and wrk) runs on the core the
        # servers are not pinned to. PostgreSQL and Redis, started above, run where
        # --database-cpus put them.
        os.sched_setaffinity(0, {int(LOADGEN_CPU)})
        env = {
            **os.environ,
            "SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "JWT_SECRET": SECRET,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DEBUG": "0",
            "PERFMON_QUERY_COUNT_HEADER": "1",
            "BENCH_LOG_DIR": str(work),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # No worker recycling in any build: gunicorn.conf.py's max_requests replaced the
            # optimised build's workers mid-step (it serves several times the baseline's
            # requests), a cold restart measured as its latency; the baseline's never were.
            "GUNICORN_MAX_REQUESTS": "0",
            # Abuse limits off: the load generator is one address sending far past them.
            "THROTTLE_WRITES": "",
            "THROTTLE_WRITES_PER_IP": "",
            "THROTTLE_EXPENSIVE": "",
            "THROTTLE_EXPENSIVE_PER_IP": "",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        log(
            f"PostgreSQL {database_url}, Redis {redis_url}; seeding {orgs} organizations x {args.clinics_per_org} "
            f"clinics x {providers} providers x {args.assignments_per_provider} assignments (seed {args.seed})"
        )
        manage(env, "migrate", "--noinput", "-v0")
        seeded = time.monotonic()
        manage(
            env,
            "seed_demo",
            "--organizations",
            str(orgs),
            "--clinics-per-org",
            str(args.clinics_per_org),
            "--providers-per-org",
            str(providers),
            "--assignments-per-provider",
            str(args.assignments_per_provider),
            "--seed",
            str(args.seed),
            "--no-progress",
        )
        subprocess.run(["psql", database_url, "-qc", "VACUUM ANALYZE"], check=True)
        log(f"seeded in {time.monotonic() - seeded:.0f} s")
        explain = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "create_indexes", "--check", "--explain"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        index_check = (
            "passed: every declared index present, no sequential scan on any list query"
            if explain.returncode == 0
            else f"FAILED: {explain.stderr.strip()[-300:]}"
        )
        log(f"create_indexes --check --explain: {index_check}")
        ids = load_ids(database_url)
        tokens = {
            org: (token(env, "member", org), token(env, "org_admin", org)) for org in ids["orgs"]
        }
        platform_token = token(env, "platform_admin", None)
        workload = Workload(ids, tokens)

        common = {"cpu": SERVER_CPU, "workers": args.workers, "threads": args.threads}
        optimised = Service("optimised", "enterprise.wsgi", env, **common)
        baseline = Service(
            "baseline",
            "bench.baseline.wsgi",
            {**env, "DJANGO_SETTINGS_MODULE": "bench.baseline.settings"},
            **common,
        )
        bare = Service("bare-wsgi", "bench.ceilings:bare_app", env, **common)
        plain = Service(
            "plain-django",
            "bench.ceilings:django_app",
            {**env, "DJANGO_SETTINGS_MODULE": "bench.ceilings"},
            **common,
        )
        nocache = Service(
            "optimised-nocache", "enterprise.wsgi", {**env, "RESPONSE_CACHE": "0"}, **common
        )
        services = [optimised, baseline, bare, plain, nocache]
        for service in services:
            service.start()

        # 0. Warm-up (not recorded): imports, connection pools, plans, a first pass of cache fills.
        for service in (baseline, optimised):
            run_constant_rate(
                host="127.0.0.1",
                port=service.port,
                rate=30,
                duration=4 if quick else 10,
                pick=workload.pick,
                seed=args.seed - 1,
            )

        # 1. Latency sweep, interleaved rounds.
        sweeps: dict[str, list[dict[str, Any]]] = {"baseline": [], "optimised": []}
        for r in range(rounds):
            order = [baseline, optimised] if r % 2 == 0 else [optimised, baseline]
            log(f"round {r + 1}/{rounds}")
            for service in order:
                sweeps[service.name].append(
                    sweep(
                        service,
                        workload,
                        duration=step,
                        start=20,
                        factor=1.5,
                        seed=args.seed + r,
                        max_rate=6000,
                        resolution=QUICK_RATE_RESOLUTION if quick else RATE_RESOLUTION,
                    )
                )

        # 2. Per-route latency at one common rate both builds sustain (half the baseline's max).
        baseline_max = (
            statistics.median(s["max_rps_p95_under_200ms"] for s in sweeps["baseline"]) or 20
        )
        common_rate = max(10, baseline_max / 2)
        per_route: dict[str, dict[str, Any]] = {}
        perfmon_agreement: dict[str, Any] = {}
        for service in (baseline, optimised):
            if service is optimised:
                time.sleep(2.5)  # workers publish the previous phase's last second first
                clear_perfmon(redis_url)  # the summary then covers exactly this phase
            result = run_constant_rate(
                host="127.0.0.1",
                port=service.port,
                rate=common_rate,
                duration=max(step * 2, 4),
                pick=workload.pick,
                seed=args.seed + 99,
            )
            per_route[service.name] = {
                route: {
                    "p50_ms": percentile(result.latencies(route), 50),
                    "p95_ms": percentile(result.latencies(route), 95),
                    "p99_ms": percentile(result.latencies(route), 99),
                }
                for route in workload.routes
            }
            per_route[service.name]["_overall"] = summarize(result)
            if service is optimised:
                perfmon_agreement = compare_with_perfmon(
                    service, platform_token, result, window=int(max(step * 2, 4)) + 20
                )

        # 3. Throughput (wrk, closed loop): a cached detail and list vs the two ceilings.
        org = workload.orgs[0]
        member = {"Authorization": f"Bearer {tokens[org][0]}"}
        detail = f"/api/v1/clinics/{ids['clinics'][org][0]}"
        listing = f"/api/v1/clinics?organizationId={org}"
        wrk_seconds = 3 if quick else 8
        throughput: dict[str, list[float]] = {
            k: []
            for k in (
                "bare_wsgi",
                "plain_django",
                "optimised_hit_detail",
                "optimised_hit_list",
                "baseline_detail",
                "baseline_list",
            )
        }
        for _ in range(3 if quick else 5):
            for url in (detail, listing):
                fetch(f"http://127.0.0.1:{optimised.port}{url}", member)  # warm
            throughput["bare_wsgi"].append(
                wrk(f"http://127.0.0.1:{bare.port}/", {}, seconds=wrk_seconds)
            )
            throughput["plain_django"].append(
                wrk(f"http://127.0.0.1:{plain.port}/", {}, seconds=wrk_seconds)
            )
            throughput["optimised_hit_detail"].append(
                wrk(f"http://127.0.0.1:{optimised.port}{detail}", member, seconds=wrk_seconds)
            )
            throughput["optimised_hit_list"].append(
                wrk(f"http://127.0.0.1:{optimised.port}{listing}", member, seconds=wrk_seconds)
            )
            throughput["baseline_detail"].append(
                wrk(f"http://127.0.0.1:{baseline.port}{detail}", member, seconds=wrk_seconds)
            )
            throughput["baseline_list"].append(
                wrk(f"http://127.0.0.1:{baseline.port}{listing}", member, seconds=wrk_seconds)
            )

        # 4. Database round trips per request.
        provider = ids["providers"][org][0]
        rt_paths = {
            "GET /organizations/{id}": f"/api/v1/organizations/{org}",
            "GET /clinics?organizationId=&limit=100": f"/api/v1/clinics?organizationId={org}&limit=100",
            "GET /clinics/{id}": detail,
            "GET /providers?limit=100": "/api/v1/providers?limit=100",
            "GET /assignments/provider/{id}/clinics": f"/api/v1/assignments/provider/{provider}/clinics",
            "GET /assignments/clinic/{id}/staff?limit=100": f"/api/v1/assignments/clinic/{ids['clinics'][org][0]}/staff?limit=100",
            "GET /organizations/{id}/summary": f"/api/v1/organizations/{org}/summary",
        }
        db_trips = {
            service.name: round_trips(
                service, rt_paths, member, repeat=5 if quick else 10, redis_url=redis_url
            )
            for service in (baseline, optimised)
        }

        # 5. Bytes on the wire: a list of 100 clinics, with and without gzip.
        platform = {"Authorization": f"Bearer {platform_token}"}
        bytes_ = {}
        for service in (baseline, optimised):
            url = f"http://127.0.0.1:{service.port}/api/v1/clinics?limit=100"
            _, _, identity = fetch(url, platform)
            _, headers, zipped = fetch(url, {**platform, "Accept-Encoding": "gzip"})
            if headers.get("Content-Encoding") == "gzip":
                assert json.loads(gzip.decompress(zipped)) == json.loads(identity)
            bytes_[service.name] = {"identity": len(identity), "gzip": len(zipped)}

        # 6. Deep pagination: offset vs cursor by depth on the platform-wide assignment list.
        depths = [1, 100, 1000, 10000] if ids["assignments"] > 10_020 else [1, 100, 1000]
        deep: dict[str, dict[str, float]] = {}
        repeat = 7 if quick else 15
        offset_urls = {
            str(d): f"/api/v1/assignments?offset={min(d - 1, 9980)}&limit=20" for d in depths
        }
        deep["baseline_offset"] = page_times(baseline, offset_urls, platform, repeat, redis_url)
        deep["optimised_offset"] = page_times(optimised, offset_urls, platform, repeat, redis_url)
        cursor_urls = {"1": "/api/v1/assignments?limit=20"}
        for d in [*depths[1:], 10_000 if ids["assignments"] > 10_020 else None]:
            if d and (c := cursor_at(database_url, d)):
                cursor_urls[str(d)] = f"/api/v1/assignments?limit=20&cursor={c}"
        if ids["assignments"] >= 500 * 20 + 1 and (c := cursor_at(database_url, 500 * 20)):
            cursor_urls["page 500"] = f"/api/v1/assignments?limit=20&cursor={c}"
        deep["optimised_cursor"] = page_times(optimised, cursor_urls, platform, repeat, redis_url)

        # 7. Redis stopped: the optimised service against itself with the cache switched off,
        #    at the common rate (last: it stops the benchmark's Redis).
        redis_outage = measure_redis_outage(
            redis, optimised, nocache, workload, rate=common_rate, duration=max(step * 2, 4)
        )

        rss = {service.name: service.peak_rss_mb() for service in services}
        results = assemble(
            args,
            ids,
            sweeps,
            per_route,
            throughput,
            db_trips,
            bytes_,
            deep,
            rss,
            started_at,
            orgs,
            providers,
            rounds,
            step,
            common_rate,
        )
        results["perfmon_agreement"] = perfmon_agreement
        results["redis_outage"] = redis_outage
        results["index_check"] = index_check
        results["index_explain"] = explain.stdout
    finally:
        for service in services:
            service.stop()
        redis.stop()
        pg.stop()

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2, default=float))
    from bench.report import plots, readme_table, update_readme

    plots(results, RESULTS)
    table = readme_table(results)
    print(table)
    if not args.no_readme:
        update_readme(ROOT / "README.md", table)
    log(f"done in {time.time() - started_at:.0f} s: bench/results/latest.json and plots written")
    return 0


def assemble(
    args,
    ids,
    sweeps,
    per_route,
    throughput,
    db_trips,
    bytes_,
    deep,
    rss,
    started_at,
    orgs,
    providers,
    rounds,
    step,
    common_rate,
):
    def med_range(values: list[float]) -> dict[str, float]:
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    max_rps = {
        name: med_range([s["max_rps_p95_under_200ms"] for s in runs])
        for name, runs in sweeps.items()
    }
    import django

    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(time.time() - started_at),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "django": django.get_version(),
            "server_cpu": SERVER_CPU,
            "loadgen_cpu": LOADGEN_CPU,
            "database_and_redis_cpus": database_cpus_for(args) or "any",
        },
        "config": {
            "quick": args.quick,
            "seed": args.seed,
            "rounds": rounds,
            "step_seconds": step,
            "workers": args.workers,
            "threads": args.threads,
            "organizations": orgs,
            "clinics": sum(len(v) for v in ids["clinics"].values()),
            "providers_per_org": providers,
            "assignments": ids["assignments"],
            "database": "postgresql",
            "cache": "redis",
        },
        "max_rps_p95_under_200ms": max_rps,
        "max_rps_ratio": max_rps["optimised"]["median"] / max(1, max_rps["baseline"]["median"]),
        "sweeps": sweeps,
        "common_rate_rps": common_rate,
        "per_route": per_route,
        "throughput_rps": {k: med_range(v) for k, v in throughput.items()},
        "db_round_trips": db_trips,
        "bytes": bytes_,
        "deep_pagination_ms": deep,
        "peak_rss_mb": rss,
    }


if __name__ == "__main__":
    sys.exit(main())
