"""Turn ``bench/results/latest.json`` into PNG plots and the README's performance table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def plots(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Latency percentiles against offered rate, both builds: for each, the round whose
    # maximum is the median the table reports (the first round can be the odd one out).
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, style in (("baseline", "--"), ("optimised", "-")):
        rounds = sorted(results["sweeps"][name], key=lambda s: s["max_rps_p95_under_200ms"])
        steps = rounds[len(rounds) // 2]["steps"]
        rates = [s["offered_rps"] for s in steps]
        for pct, marker in (("p50_ms", "o"), ("p95_ms", "s"), ("p99_ms", "^")):
            ax.plot(
                rates,
                [s[pct] for s in steps],
                style,
                marker=marker,
                label=f"{name} {pct[:-3].upper()}",
            )
    ax.axhline(200, color="grey", lw=0.8)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="offered rate (requests/s, open model)",
        ylabel="latency (ms)",
        title="Latency vs offered rate (workload mix, median round)",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "latency_vs_rate.png", dpi=110)
    plt.close(fig)

    # P95 by route at the common rate.
    routes = [r for r in results["per_route"]["baseline"] if not r.startswith("_")]
    fig, ax = plt.subplots(figsize=(9, 5))
    ys = range(len(routes))
    for offset, name in ((-0.2, "baseline"), (0.2, "optimised")):
        ax.barh(
            [y + offset for y in ys],
            [results["per_route"][name][r]["p95_ms"] for r in routes],
            height=0.4,
            label=name,
        )
    ax.set_yticks(list(ys), routes, fontsize=7)
    ax.set(
        xscale="log",
        xlabel="P95 latency (ms)",
        title=f"P95 by route at {results['common_rate_rps']:.0f} requests/s",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "p95_by_route.png", dpi=110)
    plt.close(fig)

    # Cursor vs offset page time by depth.
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, series in results["deep_pagination_ms"].items():
        points = [(int(k), v) for k, v in series.items() if k.isdigit()]
        ax.plot(
            [p[0] for p in points], [p[1] for p in points], marker="o", label=name.replace("_", " ")
        )
    ax.set(
        xscale="log",
        xlabel="depth (rows before the page)",
        ylabel="time per page (ms, median)",
        title="Deep pagination: cursor vs offset",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "pagination_depth.png", dpi=110)
    plt.close(fig)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "n/a"


def _extra_rows(r: dict[str, Any]) -> list[str]:
    rows = []
    agreement = r.get("perfmon_agreement")
    if agreement:
        cells = " / ".join(
            f"{agreement[q]['perfmon_ms']:.1f} vs {agreement[q]['loadgen_ms']:.1f}"
            for q in ("p50", "p95", "p99")
        )
        ratios = " / ".join(f"{agreement[q]['ratio']:.2f}" for q in ("p50", "p95", "p99"))
        rows.append(
            f"| perfmon's own P50 / P95 / P99 vs the load generator's (ms), same phase | | {cells} "
            f"({agreement['requests']['perfmon']} vs {agreement['requests']['loadgen']} requests) | "
            f"{ratios} |"
        )
    outage = r.get("redis_outage")
    if outage:
        rows.append(
            f"| P95 with Redis stopped vs the same build with the cache off, {outage['rate_rps']:.0f} req/s (ms) "
            f"| | {outage['redis_stopped']['p95_ms']:.1f} vs {outage['no_cache']['p95_ms']:.1f} "
            f"(errors {outage['redis_stopped']['error_rate']:.1%}) | {outage['p95_ratio']:.2f}x |"
        )
    return rows


def _database_placement(machine: dict[str, Any]) -> str:
    cpus = machine.get("database_and_redis_cpus", "any")
    if cpus == "any":
        return "PostgreSQL and Redis on either"
    if cpus == machine.get("server_cpu"):
        return "PostgreSQL and Redis on the services' core"
    return f"PostgreSQL and Redis on CPU {cpus}"


def readme_table(r: dict[str, Any]) -> str:
    mx = r["max_rps_p95_under_200ms"]
    pr_b, pr_o = r["per_route"]["baseline"]["_overall"], r["per_route"]["optimised"]["_overall"]
    tp = r["throughput_rps"]
    trips_b = r["db_round_trips"]["baseline"]
    trips_o = r["db_round_trips"]["optimised"]
    b_trips = max(v["miss_max"] for v in trips_b.values())
    o_miss = max(v["miss_max"] for v in trips_o.values())
    o_hit = max(v["repeat_mean"] for v in trips_o.values())
    by = r["bytes"]
    deep = r["deep_pagination_ms"]
    cursor = deep["optimised_cursor"]
    last_cursor = cursor.get("page 500") or cursor[max((k for k in cursor if k.isdigit()), key=int)]
    # Hit rate over the sweep steps the optimised build passed (steady traffic, warm keys).
    hit_rate = [
        st["cache_hit_rate"]
        for sweep in r["sweeps"]["optimised"]
        for st in sweep["steps"][1:]
        if st["cache_hit_rate"] is not None and st["p95_ms"] < 200
    ]
    hit_rate = [sum(hit_rate) / len(hit_rate)] if hit_rate else []
    c = r["config"]
    lines = [
        f"Measured {r['generated_at']} with `bench/run{' --quick' if c['quick'] else ''}` on {r['machine']['cpus']} "
        f"cores ({r['machine']['platform']}), PostgreSQL + Redis, {c['organizations']} organizations, "
        f"{c['clinics']} clinics, {c['assignments']} assignments, gunicorn {c['workers']} worker{'s' if c['workers'] != 1 else ''} x "
        f"{c['threads']} threads pinned to one core, load generator on the other ({_database_placement(r['machine'])}); {c['rounds']} interleaved rounds "
        f"(median, range). Seed {c['seed']}.",
        "",
        "| metric | baseline (tutorial DRF) | optimised | ratio |",
        "|---|---|---|---|",
        f"| max RPS at P95 < 200 ms, workload mix | {mx['baseline']['median']:.0f} "
        f"({mx['baseline']['min']:.0f}-{mx['baseline']['max']:.0f}) | {mx['optimised']['median']:.0f} "
        f"({mx['optimised']['min']:.0f}-{mx['optimised']['max']:.0f}) | {_ratio(mx['optimised']['median'], mx['baseline']['median'])} |",
        f"| mix at {r['common_rate_rps']:.0f} req/s: mean / P95 / P99 (ms) | {pr_b['mean_ms']:.1f} / {pr_b['p95_ms']:.1f} / "
        f"{pr_b['p99_ms']:.1f} | {pr_o['mean_ms']:.1f} / {pr_o['p95_ms']:.1f} / {pr_o['p99_ms']:.1f} | "
        f"P95 {_ratio(pr_b['p95_ms'], pr_o['p95_ms'])} lower |",
        f"| DB round trips per request (max over routes) | {b_trips} | {o_miss} on a miss, {o_hit:.0f} on a hit | |",
        f"| bytes, list of 100 clinics (identity / gzip) | {by['baseline']['identity']} / {by['baseline']['gzip']} | "
        f"{by['optimised']['identity']} / {by['optimised']['gzip']} | "
        f"{1 - by['optimised']['gzip'] / by['baseline']['gzip']:.0%} smaller on the wire |",
        f"| cache hit rate in the mix (5 % writes) | n/a | {hit_rate[0]:.0%} | |"
        if hit_rate
        else "| cache hit rate | n/a | n/a | |",
        f"| `create_indexes --check --explain` on the seeded database | | {r.get('index_check', 'not run')} | |",
        f"| cached detail / list, wrk RPS | {tp['baseline_detail']['median']:.0f} / {tp['baseline_list']['median']:.0f} "
        f"| {tp['optimised_hit_detail']['median']:.0f} / {tp['optimised_hit_list']['median']:.0f} | "
        f"{tp['optimised_hit_detail']['median'] / tp['bare_wsgi']['median']:.0%} / "
        f"{tp['optimised_hit_list']['median'] / tp['bare_wsgi']['median']:.0%} of the bare-WSGI ceiling |",
        f"| ceilings, wrk RPS | bare WSGI {tp['bare_wsgi']['median']:.0f} | plain Django view "
        f"{tp['plain_django']['median']:.0f} | |",
        f"| deepest page vs first (ms) | offset {deep['baseline_offset'][max(deep['baseline_offset'], key=int)]:.1f} "
        f"vs {deep['baseline_offset']['1']:.1f} | cursor {last_cursor:.1f} vs {cursor['1']:.1f} | "
        f"cursor {last_cursor / cursor['1']:.2f}x of page 1 |",
        f"| peak RSS per worker (MB) | {max(r['peak_rss_mb']['baseline'] or [0]):.0f} | "
        f"{max(r['peak_rss_mb']['optimised'] or [0]):.0f} | |",
        *_extra_rows(r),
        "",
        "Plots: `bench/results/latency_vs_rate.png`, `bench/results/p95_by_route.png`, "
        "`bench/results/pagination_depth.png`; raw figures in `bench/results/latest.json`.",
    ]
    return "\n".join(lines)


def update_readme(readme: Path, table: str, start: str = START, end: str = END) -> None:
    """Replace what is between the ``start`` and ``end`` markers of the README with ``table``."""
    text = readme.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"README has no {start} / {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{table}\n{end}{tail}")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    data = json.loads((root / "bench/results/latest.json").read_text())
    plots(data, root / "bench/results")
    table = readme_table(data)
    print(table)
    if "--readme" in sys.argv:
        update_readme(root / "README.md", table)
