"""Fitting time of the calibration model on 2 cores, and the cost of its parts.

Writes ``bench_calibration.json`` to ``outputs/benchmarks/``::

    python benchmarks/bench_calibration.py            # default sampler: 2 chains x (1000 + 1000)
    python benchmarks/bench_calibration.py --quick    # 2 chains x (300 + 200)
    python benchmarks/bench_calibration.py --job      # the whole job, validation disabled

What it measures, in one invocation (the load average is recorded: other processes on a shared
2-core machine skew the figures):

- **compile**: building the PyMC model and compiling log-density and gradient (PyTensor's
  numba backend; a warm on-disk cache makes repeat compiles fast, so the first invocation on a
  fresh machine is slower);
- **gradient**: microseconds per log-density + gradient evaluation, the unit cost of NUTS;
- **fit**: wall time of :func:`forecast.calibration.fit.fit` with chains on 1 core (sequential) and
  on 2 cores (one process per chain), with the sampler's own sampling time, leapfrog steps per
  draw, ESS per second and the convergence diagnostics.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from forecast.calibration import fit as cal
from forecast.calibration.cases import load_cases
from forecast.config.calibration import CalibrationModelConfig

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "outputs" / "benchmarks"


def _time_gradient(cases, repeats: int = 2000) -> dict:
    t0 = time.perf_counter()
    model = cal.build_model(cases, CalibrationModelConfig().priors)
    fn = model.logp_dlogp_function(ravel_inputs=True)
    fn.set_extra_values({})
    compile_s = time.perf_counter() - t0
    x = np.concatenate([np.ravel(v) for v in model.initial_point().values()])
    fn(x)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn(x)
    per_eval = (time.perf_counter() - t0) / repeats
    return {
        "compile_seconds": compile_s,
        "gradient_microseconds": per_eval * 1e6,
        "n_params": x.size,
    }


def _time_fit(cases, draws: int, tune: int, cores: int) -> dict:
    cfg = CalibrationModelConfig()
    cfg.sampling.draws, cfg.sampling.tune = draws, tune
    cfg.sampling.chains, cfg.sampling.cores, cfg.sampling.progress = 2, cores, False
    t0 = time.perf_counter()
    tree = cal.fit(cases, cfg, log_likelihood=False)
    wall = time.perf_counter() - t0
    stats = tree["sample_stats"]
    sampling = float(tree["posterior"].attrs.get("sampling_time", np.nan))
    return {
        "cores": cores,
        "chains": 2,
        "draws": draws,
        "tune": tune,
        "wall_seconds": wall,
        "sampling_seconds": sampling,
        "leapfrog_steps_per_draw": float(stats["n_steps"].mean()),
        "ess_bulk_min_per_second": tree.attrs["diagnostics_ess_bulk_min"] / sampling,
        "diagnostics": {k[12:]: v for k, v in tree.attrs.items() if k.startswith("diagnostics_")},
    }


def _time_job(data_dir) -> dict:
    """Wall time of the whole job with validation disabled: read data, fit on 2 cores with
    the default sampler, posterior predictive, write posterior.nc and calibration.json."""
    import tempfile

    from hydra import compose, initialize_config_dir

    from forecast.config.calibration import register_configs
    from forecast.jobs.calibrate import run_calibration

    register_configs()
    with initialize_config_dir(str(REPO / "configs"), version_base="1.3"):
        cfg = compose(
            "calibrate",
            overrides=[
                f"data_dir={data_dir}",
                "validation.enabled=false",
                "calibration.sampling.progress=false",
            ],
        )
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = run_calibration(cfg, out)
    return {
        "wall_seconds": time.perf_counter() - t0,
        "fit_seconds": result["summary"]["fit_seconds"],
        "sampling_seconds": result["summary"]["sampling_seconds"],
        "diagnostics": result["summary"]["diagnostics"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short chains (about 1 min)")
    parser.add_argument("--data-dir", default=os.environ.get("FORECAST_DATA_DIR"))
    parser.add_argument(
        "--job",
        action="store_true",
        help="only time forecast-calibrate validation.enabled=false (the default sampler)",
    )
    args = parser.parse_args()
    data_dir = args.data_dir or REPO.parent / "shared" / "data"
    draws, tune = (200, 300) if args.quick else (1000, 1000)
    if args.job:
        before = os.getloadavg()
        job = _time_job(data_dir)
        job |= {"load_average_before": before, "load_average_after": os.getloadavg()}
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / "bench_calibration_job.json"
        path.write_text(json.dumps(job, indent=2, default=float))
        print(
            f"forecast-calibrate validation.enabled=false: {job['wall_seconds']:.0f} s wall, "
            f"fit {job['fit_seconds']:.0f} s, sampling {job['sampling_seconds']:.0f} s; load "
            f"{before[0]:.1f} before, {job['load_average_after'][0]:.1f} after"
        )
        print(f"wrote {path}")
        return
    cases, report = load_cases(data_dir)
    result = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "load_average_before": os.getloadavg(),
        "versions": {p: metadata.version(p) for p in ("forecast", "pymc", "pytensor", "numpy")},
        "data": report,
        "gradient": _time_gradient(cases),
        "fit": [_time_fit(cases, draws, tune, cores) for cores in (1, 2)],
        "load_average_after": os.getloadavg(),
    }
    one, two = result["fit"]
    result["speedup_2_cores"] = one["wall_seconds"] / two["wall_seconds"]
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "bench_calibration.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2, default=float))
    tmp.replace(path)
    print(
        f"gradient {result['gradient']['gradient_microseconds']:.0f} us "
        f"({result['gradient']['n_params']} parameters); fit 2 chains x ({tune}+{draws}): "
        f"{one['wall_seconds']:.0f} s on 1 core, {two['wall_seconds']:.0f} s on 2 cores "
        f"(x{result['speedup_2_cores']:.2f}); load {result['load_average_before'][0]:.1f}"
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
