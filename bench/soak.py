"""Soak and fault runs: the optimised service at a fixed rate for minutes, then through outages.

1. **Soak** (``--soak-minutes``, default 10): the benchmark's read-heavy mix at
   ``--rate`` requests/s with 5 % writes, RSS of every gunicorn worker sampled
   every 5 s; growth from the first minute after warm-up to the last minute must
   stay within 10 %.
2. **Faults** (``--fault-minutes``, default 4): the same load while Redis is
   killed (``SIGKILL``) and restarted empty, then PostgreSQL is stopped
   (``pg_ctl -m immediate``) for ``--pg-outage-seconds`` (default 10) and started.

Every write carries a unique value (a new provider's NPI, a clinic's new name)
so afterwards each acknowledged write is looked up in the database: a created
provider must exist, a renamed clinic must have the audit record of that rename
(written in the write's transaction) and end with the newest renamed value; a
write refused with 503 must have left nothing. Reported: errors by status,
lost acknowledged writes, refused-but-applied writes, P95 before, during and
after each fault, and 5xx outside the documented outage behaviour (only a 503
while the database is stopped and until the breaker has had ``OPEN_SECONDS``
plus a 10 s grace to probe it closed; nothing at all for a Redis outage).

Writes ``bench/results/soak.json``; exits non-zero when a write was lost, a
5xx fell outside the allowance or a worker's memory grew more than 10 %.
Loopback only; servers are throw-away (as ``bench/run``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import Request, RunResult, percentile, run_constant_rate  # noqa: E402
from bench.report import update_readme  # noqa: E402
from bench.run import (  # noqa: E402
    LOADGEN_CPU,
    RESULTS,
    SECRET,
    SERVER_CPU,
    Workload,
    load_ids,
    log,
    manage,
    token,
)
from bench.servers import Postgres, Redis, Service  # noqa: E402

SOAK_START, SOAK_END = "<!-- soak:start -->", "<!-- soak:end -->"
WINDOW_NAMES = {
    "before": "before the faults",
    "redis_down": "Redis killed",
    "after_redis": "Redis restarted empty",
    "postgresql_down": "PostgreSQL stopped",
    "postgresql_recovering": "PostgreSQL back, breaker probing",
    "after_postgresql": "after recovery",
}

GRACE_SECONDS = 10  # after the breaker's open window, for its probes to close it
DB_BREAKER_OPEN_SECONDS = 5  # the default the service runs with here (DB_BREAKER_OPEN_SECONDS)


class SoakWorkload(Workload):
    """The benchmark's mix, with writes that leave a unique, checkable trace."""

    def __init__(self, ids: dict[str, Any], tokens: dict[str, tuple[str, str]]) -> None:
        super().__init__(ids, tokens)
        self.serial = 0

    def pick(self, rng: random.Random) -> Request:
        request = super().pick(rng)
        if request.method == "GET":
            return request
        self.serial += 1
        org = rng.choices(self.orgs, self.org_weights)[0]
        _, admin = self.tokens[org]
        headers = (("Authorization", f"Bearer {admin}"),)
        if self.serial % 2:  # a rename of a clinic, to a name no other write uses
            clinic = rng.choice(self.ids["clinics"][org])
            name = f"Soak {self.serial:07d}"
            body = json.dumps({"name": name}).encode()
            path = f"/api/v1/clinics/{clinic}"
            return Request(
                "PATCH /clinics/{id}", "PATCH", path, headers, body, f"rename {clinic} {name}"
            )
        npi = f"9{self.serial:09d}"
        body = json.dumps({"firstName": "Soak", "lastName": f"W{self.serial}", "npi": npi}).encode()
        return Request(
            "POST /providers", "POST", "/api/v1/providers", headers, body, f"create {npi}"
        )


class RssSampler(threading.Thread):
    """VmRSS of every worker of ``service`` every ``interval`` seconds."""

    def __init__(self, service: Service, interval: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.service, self.interval = service, interval
        self.samples: list[tuple[float, int, float]] = []  # (seconds, pid, MiB)
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def _workers(self) -> list[int]:
        """Children of the gunicorn master, from /proc (no subprocess from this thread)."""
        master = self.service.process.pid if self.service.process else None
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(entry.name))
        return pids

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            now = time.monotonic() - self.t0
            for pid in self._workers():
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            self.samples.append((now, pid, int(line.split()[1]) / 1024))
                except FileNotFoundError:
                    continue

    def growth(self, warmup: float, total: float) -> dict[str, Any]:
        """Median RSS per worker in the minute after warm-up against the last minute."""
        per_worker: dict[int, dict[str, Any]] = {}
        for pid in sorted({pid for _, pid, _ in self.samples}):
            early = [m for t, p, m in self.samples if p == pid and warmup <= t < warmup + 60]
            late = [m for t, p, m in self.samples if p == pid and t >= total - 60]
            count = sum(1 for _, p, _ in self.samples if p == pid)
            if not (early and late):  # a worker that came or went mid-run: no comparison
                per_worker[pid] = {"samples": count, "growth_pct": None}
                continue
            first, last = statistics.median(early), statistics.median(late)
            per_worker[pid] = {
                "samples": count,
                "first_mib": round(first, 1),
                "last_mib": round(last, 1),
                "growth_pct": round((last / first - 1) * 100, 2),
            }
        growths = [w["growth_pct"] for w in per_worker.values() if w["growth_pct"] is not None]
        worst = max(growths, default=None)
        return {"workers": per_worker, "max_growth_pct": worst, "samples": len(self.samples)}


def window(result: RunResult, start: float, end: float) -> dict[str, Any]:
    samples = [s for s in result.samples if start <= s.at < end]
    latencies = sorted(s.latency_ms for s in samples)
    return {
        "from_s": round(start, 1),
        "to_s": round(end, 1),
        "requests": len(samples),
        "p50_ms": round(percentile(latencies, 50), 2) if latencies else None,
        "p95_ms": round(percentile(latencies, 95), 2) if latencies else None,
        "statuses": dict(sorted(Counter(str(s.status) for s in samples).items())),
    }


def check_writes(database_url: str, results: list[RunResult]) -> dict[str, Any]:
    """Every acknowledged write against the database; every refused one must have left nothing."""
    import psycopg

    acked_creates, refused_creates, acked_renames, refused_renames = set(), set(), {}, set()
    unknown = 0
    for result in results:
        for s in result.samples:
            if not s.tag:
                continue
            kind, *rest = s.tag.split(" ", 1)
            if s.status in (200, 201):
                if kind == "create":
                    acked_creates.add(rest[0])
                else:
                    clinic, name = rest[0].split(" ", 1)
                    acked_renames[name] = clinic
            elif s.status in (0,) or s.status >= 500 and s.status != 503:
                unknown += 1  # no answer: either outcome is correct
            elif s.status == 503 and kind == "create":
                refused_creates.add(rest[0])
            elif s.status == 503:
                refused_renames.add(rest[0].split(" ", 1)[1])
    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as conn:
        stored = {
            r[0]
            for r in conn.execute(
                "SELECT npi FROM providers_provider WHERE npi = ANY(%s)",
                [sorted(acked_creates | refused_creates)],
            )
        }
        audited: dict[str, str] = {}  # new name -> clinic, from the audit trail
        newest: dict[str, str] = {}  # clinic -> the newest renamed value
        for object_id, changes in conn.execute(
            "SELECT object_id, changes FROM audit_auditrecord "
            "WHERE resource = 'clinics' AND action = 'update' ORDER BY at, id"
        ):
            change = (changes if isinstance(changes, dict) else json.loads(changes)).get("name")
            if change and str(change.get("new", "")).startswith("Soak "):
                audited[change["new"]] = object_id.strip()
                newest[object_id.strip()] = change["new"]
        names = {
            r[0].strip(): r[1]
            for r in conn.execute(
                "SELECT id, name FROM clinics_clinic WHERE id = ANY(%s)", [sorted(newest)]
            )
        }
    lost_creates = sorted(acked_creates - stored)
    lost_renames = sorted(n for n, c in acked_renames.items() if audited.get(n) != c)
    stale = sorted(c for c, n in newest.items() if names.get(c) != n)
    return {
        "acknowledged_creates": len(acked_creates),
        "acknowledged_renames": len(acked_renames),
        "lost_acknowledged_writes": len(lost_creates) + len(lost_renames),
        "lost_examples": (lost_creates + lost_renames)[:10],
        "clinics_not_at_their_newest_rename": len(stale),
        "refused_503_creates": len(refused_creates),
        "refused_503_renames": len(refused_renames),
        "refused_but_applied": len(refused_creates & stored) + len(refused_renames & set(audited)),
        "unanswered_writes": unknown,
    }


def unexplained_5xx(result: RunResult, pg_down: tuple[float, float] | None) -> list[dict[str, Any]]:
    """5xx outside the documented outage behaviour (a 503 while the database is unavailable)."""
    allowed = None
    if pg_down:
        allowed = (pg_down[0], pg_down[1] + DB_BREAKER_OPEN_SECONDS + GRACE_SECONDS)
    bad = []
    for s in result.samples:
        if s.status < 500:
            continue
        in_outage = allowed and allowed[0] <= s.at + s.latency_ms / 1000 and s.at <= allowed[1]
        if s.status == 503 and in_outage:
            continue
        bad.append({"at_s": round(s.at, 2), "route": s.route, "status": s.status})
    return bad


def readme_table(report: dict[str, Any]) -> str:
    """The README's soak and fault figures, from ``bench/results/soak.json``."""
    soak, writes, memory = report["soak"], report["writes"], report["soak"]["memory"]
    unexplained = sum(v["count"] for v in report["unexplained_5xx"].values())
    lines = [
        f"`{report['command']}` at {report['rate_rps']:.0f} requests/s, {report['generated_at']}:",
        "",
        "| phase | requests | P50 ms | P95 ms | answers by status |",
        "|---|---|---|---|---|",
        f"| soak, {soak['seconds'] / 60:.0f} min | {soak['requests']} | {soak['p50_ms']} | "
        f"{soak['p95_ms']} | {_statuses(soak['statuses'])} |",
    ]
    for name, w in report["faults"]["windows"].items():
        lines.append(
            f"| {WINDOW_NAMES[name]} ({w['from_s']:.0f}-{w['to_s']:.0f} s) | {w['requests']} | "
            f"{w['p50_ms']} | {w['p95_ms']} | {_statuses(w['statuses'])} |"
        )
    workers = ", ".join(
        f"{w['first_mib']} -> {w['last_mib']} MiB"
        if w["growth_pct"] is not None
        else f"{w['samples']} samples, no comparison"
        for w in memory["workers"].values()
    )
    lines += [
        "",
        f"Worker memory over the soak: largest growth {memory['max_growth_pct']} % ({workers}). "
        f"Writes: {writes['acknowledged_creates']} creates and {writes['acknowledged_renames']} renames "
        f"acknowledged, **{writes['lost_acknowledged_writes']} lost**; {writes['refused_503_creates']} creates "
        f"and {writes.get('refused_503_renames', 0)} renames refused with 503, "
        f"{writes['refused_but_applied']} of them applied; "
        f"{writes['unanswered_writes']} writes unanswered. "
        f"5xx outside the documented outage behaviour: **{unexplained}**; "
        f"requests without an answer: {soak['unanswered'] + report['faults']['unanswered']}.",
    ]
    return "\n".join(lines)


def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in statuses.items())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2-minute soak, 2-minute fault run")
    parser.add_argument(
        "--rate",
        type=float,
        default=80,
        help="offered requests/s (default 80: within what the service serves with its cache down)",
    )
    parser.add_argument("--soak-minutes", type=float, default=None)
    parser.add_argument("--fault-minutes", type=float, default=None)
    parser.add_argument("--pg-outage-seconds", type=float, default=10)
    parser.add_argument("--organizations", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--no-readme", action="store_true", help="do not rewrite the README's soak table"
    )
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="only rewrite the README's soak table from bench/results/soak.json",
    )
    args = parser.parse_args()
    if args.readme_only:
        report = json.loads((RESULTS / "soak.json").read_text())
        update_readme(ROOT / "README.md", readme_table(report), SOAK_START, SOAK_END)
        return 0
    soak_s = 60 * (args.soak_minutes or (2 if args.quick else 10))
    fault_s = 60 * (args.fault_minutes or (2 if args.quick else 4))
    os.sched_setaffinity(0, {int(LOADGEN_CPU)})  # PostgreSQL and Redis, started below, too

    work = Path(tempfile.mkdtemp(prefix="enterprise-soak-"))
    os.chmod(work, 0o755)
    # Durable: an immediate stop must not take acknowledged commits with it (the benchmark's
    # server runs with asynchronous commit, which would lose the last ~0.6 s of them).
    pg, redis = Postgres(work, durable=True), Redis(work)
    service: Service | None = None
    try:
        database_url, redis_url = pg.start(), redis.start()
        env = {
            **os.environ,
            "SECRET_KEY": "soak-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "JWT_SECRET": SECRET,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DEBUG": "0",
            "BENCH_LOG_DIR": str(work),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DB_BREAKER_OPEN_SECONDS": str(DB_BREAKER_OPEN_SECONDS),
            # gunicorn.conf.py (read from the working directory) recycles workers every ~20,000
            # requests, which would hide a leak: the soak measures one process over its run.
            "GUNICORN_MAX_REQUESTS": "0",
            "THROTTLE_WRITES": "",
            "THROTTLE_WRITES_PER_IP": "",
            "THROTTLE_EXPENSIVE": "",
            "THROTTLE_EXPENSIVE_PER_IP": "",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        manage(env, "migrate", "--noinput", "-v0")
        manage(
            env, "seed_demo", "--organizations", str(args.organizations), "--clinics-per-org", "10",
            "--providers-per-org", "50", "--assignments-per-provider", "3", "--seed", str(args.seed),
            "--no-progress",
        )  # fmt: skip
        subprocess.run(["psql", database_url, "-qc", "VACUUM ANALYZE"], check=True)
        ids = load_ids(database_url)
        tokens = {o: (token(env, "member", o), token(env, "org_admin", o)) for o in ids["orgs"]}
        workload = SoakWorkload(ids, tokens)
        service = Service(
            "soak",
            "enterprise.wsgi",
            env,
            cpu=SERVER_CPU,
            workers=args.workers,
            threads=args.threads,
        )
        service.start()
        log(f"service on {service.port} (workers {service.worker_pids()}), {args.rate:.0f} req/s")

        def drive(seconds: float, seed: int) -> RunResult:
            return run_constant_rate(
                host="127.0.0.1", port=service.port, rate=args.rate, duration=seconds,
                pick=workload.pick, seed=seed, timeout=10,
            )  # fmt: skip

        drive(15, 1)  # warm-up: connections, imports, the cache
        # --- 1. soak ------------------------------------------------------------------------
        log(f"soak: {soak_s / 60:.0f} min")
        sampler = RssSampler(service)
        sampler.start()
        soak = drive(soak_s, 2)
        sampler.stop.set()
        memory = sampler.growth(warmup=60 if soak_s >= 180 else 0, total=soak_s)
        log(f"soak done: {soak.sent} requests, memory {memory['max_growth_pct']} % max growth")

        # --- 2. faults ----------------------------------------------------------------------
        t_redis_kill, t_redis_back = fault_s * 0.2, fault_s * 0.2 + 20
        t_pg_stop = fault_s * 0.55
        t_pg_back = t_pg_stop + args.pg_outage_seconds
        events: list[tuple[str, float]] = []

        def inject(t0: float) -> None:
            def at(moment: float) -> None:
                time.sleep(max(0.0, t0 + moment - time.monotonic()))

            # Each outage is timed from before the action starts to after it has finished.
            at(t_redis_kill)
            events.append(("redis killed", time.monotonic() - t0))
            redis.process.send_signal(signal.SIGKILL)
            redis.process.wait()
            at(t_redis_back)
            redis.start()
            events.append(("redis restarted (empty)", time.monotonic() - t0))
            at(t_pg_stop)
            events.append(("postgresql stopped", time.monotonic() - t0))
            pg.stop()
            at(t_pg_back)
            pg.start_server()
            events.append(("postgresql started", time.monotonic() - t0))

        log(
            f"faults: {fault_s / 60:.0f} min; Redis killed at {t_redis_kill:.0f} s, PostgreSQL down {t_pg_stop:.0f}-{t_pg_back:.0f} s"
        )
        injector = threading.Thread(target=inject, args=(time.monotonic() + 0.05,), daemon=True)
        injector.start()
        faults = drive(fault_s, 3)
        injector.join(30)
        when = dict(events)
        pg_down = (when["postgresql stopped"], when["postgresql started"])
        recovered = pg_down[1] + DB_BREAKER_OPEN_SECONDS + GRACE_SECONDS
        windows = {
            "before": window(faults, 0, when["redis killed"]),
            "redis_down": window(faults, when["redis killed"], when["redis restarted (empty)"]),
            "after_redis": window(faults, when["redis restarted (empty)"], pg_down[0]),
            "postgresql_down": window(faults, pg_down[0], pg_down[1]),
            "postgresql_recovering": window(faults, pg_down[1], recovered),
            "after_postgresql": window(faults, recovered, fault_s),
        }
        time.sleep(2)
        writes = check_writes(database_url, [soak, faults])
        bad = {"soak": unexplained_5xx(soak, None), "faults": unexplained_5xx(faults, pg_down)}
        report = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": " ".join(["bench/soak", *sys.argv[1:]]),
            "rate_rps": args.rate,
            "soak": {
                "seconds": soak_s,
                **window(soak, 0, soak_s),
                "unanswered": soak.errors,
                "unanswered_kinds": soak.error_kinds,
                "memory": memory,
            },
            "faults": {
                "seconds": fault_s,
                "events": [{"event": e, "at_s": round(t, 1)} for e, t in events],
                "windows": windows,
                "unanswered": faults.errors,
                "unanswered_kinds": faults.error_kinds,
            },
            "writes": writes,
            "unexplained_5xx": {k: {"count": len(v), "examples": v[:10]} for k, v in bad.items()},
            "config": {
                "workers": args.workers,
                "threads": args.threads,
                "organizations": args.organizations,
                "pg_outage_seconds": args.pg_outage_seconds,
                "db_breaker_open_seconds": DB_BREAKER_OPEN_SECONDS,
            },
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
        if not args.no_readme:
            update_readme(ROOT / "README.md", readme_table(report), SOAK_START, SOAK_END)
        print(json.dumps({k: report[k] for k in ("soak", "writes", "unexplained_5xx")}, indent=2))
        for name, w in windows.items():
            log(f"{name:>22}: p95 {w['p95_ms']} ms, statuses {w['statuses']}")
        failures = []
        if writes["lost_acknowledged_writes"] or writes["refused_but_applied"]:
            failures.append("acknowledged writes lost or refused writes applied")
        if writes["clinics_not_at_their_newest_rename"]:
            failures.append("clinics not at their newest rename")
        if any(bad.values()):
            failures.append("5xx outside the documented outage behaviour")
        if memory["max_growth_pct"] is None:
            failures.append("worker memory was not sampled")
        elif memory["max_growth_pct"] > 10:
            failures.append("worker memory grew more than 10 %")
        log("PASSED" if not failures else "FAILED: " + "; ".join(failures))
        return 1 if failures else 0
    finally:
        if service:
            service.stop()
        redis.stop()
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
