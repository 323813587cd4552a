"""Scaling of the Dask executor from 1 to N local worker processes.

Runs one plan on a ``LocalCluster`` of n single-threaded worker processes for n = 1..N, and on
the local thread executor for reference, and reports realizations per second and the ratio to
the 1-worker run of the same invocation. Every run's accumulators are checked to be bitwise
identical. Writes ``bench_dask.json`` and ``bench_dask.png`` to ``outputs/benchmarks/``.

    python benchmarks/bench_dask.py                       # 1..cores workers, taiwan
    python benchmarks/bench_dask.py --draws 400 --realizations 50000 --max-workers 4

Every configuration is timed in turn, round after round, so that load from other processes
falls on all of them alike; the best and the median of the rounds are reported. Timings exclude
starting the clusters and warming the workers (importing, loading the numba cache): they measure
the steady state that a long run sees. The load average is recorded, since other processes on
the machine skew the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from forecast import storage
from forecast.config.loading import load_config
from forecast.sampling import executors, sampler

OUT = Path(__file__).resolve().parents[1] / "outputs" / "benchmarks"


def _identical(a: sampler.Accumulators, b: sampler.Accumulators) -> bool:
    return all(
        np.array_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
    )


def _warm(client, plan_small) -> None:
    """Import forecast and load the compiled kernels in every worker before timing."""
    client.run(lambda: sampler.run_draws(plan_small, [0]) and None)


def bench(args: argparse.Namespace) -> dict:
    from distributed import Client, LocalCluster

    overrides = [
        f"scenario={args.scenario}",
        f"sampler.draws={args.draws}",
        f"sampler.realizations={args.realizations}",
        f"sampler.block_size={min(args.realizations, 10000)}",
        "sampler.progress=false",
    ]
    plan = sampler.make_plan(load_config(overrides))
    small = sampler.make_plan(load_config([*overrides[:1], "sampler.draws=1"]))
    total = plan.n_draws * plan.settings.realizations
    sampler.run_draws(small, [0])

    # every configuration is set up first and then timed in turns, round after round, so that
    # load from other processes on the machine falls on all of them alike
    runners: dict[tuple[str, int], object] = {}
    for threads in sorted({1, args.max_workers}):
        p = dataclasses.replace(plan, settings=dataclasses.replace(plan.settings, threads=threads))
        runners[("local", threads)] = lambda p=p: sampler.run_local(p)
    with contextlib.ExitStack() as stack:
        for n in range(1, args.max_workers + 1):
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
                )
            )
            client = stack.enter_context(Client(cluster))
            _warm(client, small)
            chunk = executors.auto_chunk(plan.n_draws, n)
            runners[("dask", n)] = lambda c=client, k=chunk: executors.run_dask(
                plan, c, chunk_draws=k
            )
        times: dict[tuple[str, int], list[float]] = {key: [] for key in runners}
        reference = None
        identical = dict.fromkeys(runners, True)
        for r in range(args.repeats):
            for key, run in runners.items():
                t0 = time.perf_counter()
                acc = run()
                times[key].append(time.perf_counter() - t0)
                reference = acc if reference is None else reference
                identical[key] &= _identical(acc, reference)
            print(f"round {r + 1}/{args.repeats} done")

    rows = []
    for (executor, n), ts in times.items():
        rows.append(
            {
                "executor": executor,
                "workers": n if executor == "dask" else 1,
                "threads": n if executor == "local" else 1,
                "seconds": ts,
                "best_seconds": min(ts),
                "realizations_per_second": total / min(ts),
                "median_realizations_per_second": total / statistics.median(ts),
                "identical": identical[(executor, n)],
            }
        )
    base = next(r for r in rows if r["executor"] == "dask" and r["workers"] == 1)
    for r in rows:
        r["ratio_to_1_worker"] = base["best_seconds"] / r["best_seconds"]
        r["median_ratio_to_1_worker"] = (
            r["median_realizations_per_second"] / base["median_realizations_per_second"]
        )
    return {
        "benchmark": "dask executor: 1..N LocalCluster worker processes vs local threads",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "scenario": args.scenario,
        "draws": plan.n_draws,
        "realizations": plan.settings.realizations,
        "total_realizations": total,
        "repeats": args.repeats,
        "timing": "rounds of every configuration in turn; best and median of the rounds; "
        "cluster start and worker warm-up excluded",
        "cores": sampler.default_threads(),
        "load_average_1m_at_end": os.getloadavg()[0],
        "machine": platform.platform(),
        "processor": platform.processor(),
        "git_revision": storage.git_revision(),
        "package_versions": storage.package_versions(),
        "runs": rows,
    }


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dask = [r for r in report["runs"] if r["executor"] == "dask"]
    n = [r["workers"] for r in dask]
    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    ax.plot(n, n, ls="--", color="grey", label="ideal")
    ax.plot(n, [r["ratio_to_1_worker"] for r in dask], "o-", label="dask worker processes")
    for r in report["runs"]:
        if r["executor"] == "local":
            ax.plot(r["threads"], r["ratio_to_1_worker"], "s", color="C1")
    ax.plot([], [], "s", color="C1", label="local threads")
    ax.set(
        xlabel="worker processes (or threads)",
        ylabel="realizations/s vs 1 worker",
        title=f"{report['scenario']}: {report['draws']} draws x {report['realizations']} crises",
        xticks=n,
    )
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="taiwan")
    parser.add_argument("--draws", type=int, default=256)
    parser.add_argument("--realizations", type=int, default=20000)
    parser.add_argument("--max-workers", type=int, default=sampler.default_threads())
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    report = bench(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_dask.json").write_text(json.dumps(report, indent=2))
    plot(report, args.out / "bench_dask.png")
    for r in report["runs"]:
        print(
            f"{r['executor']:6} workers={r['workers']} threads={r['threads']}: "
            f"best {r['realizations_per_second']:,.0f}/s x{r['ratio_to_1_worker']:.2f}, "
            f"median {r['median_realizations_per_second']:,.0f}/s "
            f"x{r['median_ratio_to_1_worker']:.2f}, "
            f"{'identical' if r['identical'] else 'DIFFERENT'}"
        )
    print(f"wrote {args.out / 'bench_dask.json'} and bench_dask.png")


if __name__ == "__main__":
    main()
