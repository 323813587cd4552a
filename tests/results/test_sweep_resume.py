"""Sweeps through Dask (``hydra/launcher=dask``) and their resumption after an interruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from forecast import storage
from forecast.config.loading import load_config
from forecast.jobs.run import run
from forecast.results import resume
from forecast.sampling import sampler

# runs the console scripts / workers / notebooks as separate processes: out of the
# inner loop (-m 'not e2e'), always in CI
pytestmark = pytest.mark.e2e

POINTS = ("0.5", "0.6", "0.7")
# small jobs, without report.png and summary.csv: these tests are about the launcher
SWEEP_SAMPLER = (
    "sampler.draws=16",
    "sampler.realizations=1000",
    "sampler.block_size=500",
    "analysis.report=false",
)
SMALL = ("sampler.draws=6", "sampler.realizations=400", "sampler.block_size=200")


def _sweep(
    sweep_dir: Path, *extra: str, points: tuple[str, ...] = POINTS, env_path: str | None = None
) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "forecast.cli.run", "-m",
        "hydra/launcher=dask",
        "hydra.launcher.cluster.n_workers=2",
        f"hydra.sweep.dir={sweep_dir}",
        f"scenario.actors.USA.willingness.mean={','.join(points)}",
        *SWEEP_SAMPLER,
        *extra,
    ]  # fmt: skip
    env = dict(os.environ, PATH=env_path) if env_path is not None else None
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def test_an_interrupted_sweep_recomputes_only_what_is_missing(tmp_path):
    first = _sweep(tmp_path)
    assert first.returncode == 0, first.stderr
    files = [tmp_path / str(i) / "forecast.nc" for i in range(len(POINTS))]
    before = [storage.read(f) for f in files]
    for ds, point in zip(before, POINTS, strict=True):
        assert ds.sizes["draw"] == 16
        assert f"mean: {point}" in ds.attrs["config"]
    # the belief swept really changed the forecast
    assert len({float(ds.willingness.sel(actor="USA").mean()) for ds in before}) == 3

    # an interruption: job 1 never wrote its file, job 0 left a truncated one
    files[1].unlink()
    files[0].write_bytes(files[0].read_bytes()[:2000])
    kept = _stamp(files[2])

    second = _sweep(tmp_path)
    assert second.returncode == 0, second.stderr
    log = second.stdout + second.stderr
    assert "#2 : done already, skipped" in log
    assert "Launching 2 jobs on Dask (1 done already)" in log
    assert _stamp(files[2]) == kept  # not rewritten
    for f, old in zip(files, before, strict=True):
        new = storage.read(f)
        for name in ("p_attack", "p_join", "p_defense_success"):
            assert np.array_equal(new[name].values, old[name].values), (f, name)

    # nothing left to do: a third run computes nothing and touches nothing
    stamps = [_stamp(f) for f in files]
    third = _sweep(tmp_path)
    assert third.returncode == 0, third.stderr
    assert "Launching 0 jobs on Dask (3 done already)" in third.stdout + third.stderr
    assert [_stamp(f) for f in files] == stamps


def _crises_per_second() -> float:
    """This machine's single-thread speed, only to size jobs; no timing is asserted."""
    plan = sampler.make_plan(load_config([*SMALL, "sampler.draws=1", "sampler.realizations=20000"]))
    sampler.run_draws(plan, [0])
    t0 = time.perf_counter()
    sampler.run_draws(plan, [0])
    return 20000 / max(time.perf_counter() - t0, 1e-6)


def test_ctrl_c_stops_a_sweep_and_the_same_command_finishes_it(tmp_path):
    # four jobs of about 1.5 s on two workers: Ctrl-C once the first has finished
    draws = 50
    realizations = int(np.clip(round(_crises_per_second() * 1.5 / draws, -3), 1000, 10**6))
    args = [
        "hydra/launcher=dask", "hydra.launcher.cluster.n_workers=2",
        f"hydra.sweep.dir={tmp_path}", "scenario.actors.USA.willingness.mean=0.5,0.6,0.7,0.8",
        f"sampler.draws={draws}", f"sampler.realizations={realizations}", "analysis.report=false",
    ]  # fmt: skip
    cmd = [sys.executable, "-m", "forecast.cli.run", "-m", *args]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 240
        while not list(tmp_path.glob("*/forecast.nc")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        workers = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "interrupted: finished jobs kept their forecast.nc" in err
    assert "Traceback" not in err
    psutil.wait_procs(workers, timeout=10)
    assert not [p for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    done = sorted(p.parent.name for p in tmp_path.glob("*/forecast.nc"))
    assert 1 <= len(done) < 4, done
    stamps = {name: _stamp(tmp_path / name / "forecast.nc") for name in done}

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    log = again.stdout + again.stderr
    assert f"Launching {4 - len(done)} jobs on Dask ({len(done)} done already)" in log
    assert {name: _stamp(tmp_path / name / "forecast.nc") for name in done} == stamps
    for i, point in enumerate(("0.5", "0.6", "0.7", "0.8")):
        cfg = load_config(
            [f"sampler.draws={draws}", f"sampler.realizations={realizations}",
             "analysis.report=false", f"scenario.actors.USA.willingness.mean={point}"]
        )  # fmt: skip
        assert resume.is_done(tmp_path / str(i) / "forecast.nc", cfg), i


def test_a_bad_point_stops_the_sweep_before_anything_runs(tmp_path):
    res = _sweep(tmp_path, "scenario.aggressor.decision_noise.mean=0,0.1")
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "error: " in res.stderr and "Traceback" not in res.stderr
    # every bad job is named, with its overrides
    bad = [line for line in res.stderr.splitlines() if line.startswith("  - job #")]
    assert len(bad) == len(POINTS), res.stderr
    assert all("decision_noise.mean=0)" in line and "decision_noise" in line for line in bad), bad
    assert not list(tmp_path.rglob("forecast.nc"))


def test_a_bad_analysis_option_stops_the_sweep_before_anything_runs(tmp_path):
    res = _sweep(tmp_path, "analysis.tornado_quantiles=[0.9,0.1]", points=("0.5",))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "analysis.tornado_quantiles" in res.stderr and "Traceback" not in res.stderr
    assert not list(tmp_path.rglob("forecast.nc"))


def test_a_job_failing_at_run_time_does_not_stop_the_others(tmp_path):
    # passes every check, fails when it writes: /proc refuses new directories
    res = _sweep(
        tmp_path, "output.filename=/proc/forecast-test/forecast.nc,forecast.nc", points=("0.5",)
    )
    assert res.returncode != 0
    assert "Error executing job" in res.stderr and "/proc/forecast-test" in res.stderr
    assert [p.parent.name for p in tmp_path.glob("*/forecast.nc")] == ["1"]


def test_a_nested_dask_executor_is_refused(tmp_path):
    res = _sweep(tmp_path, "executor=dask", points=("0.5",))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "executor.kind must be local under hydra/launcher=dask" in res.stderr
    assert not list(tmp_path.rglob("forecast.nc"))


def test_a_sweep_joins_a_running_scheduler(tmp_path):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        res = _sweep(tmp_path, f"hydra.launcher.cluster.address={cluster.scheduler_address}")
        assert res.returncode == 0, res.stderr
        assert "hydra-job" in cluster.scheduler.task_prefixes  # the jobs ran there
    for i in range(len(POINTS)):
        cfg = load_config([*SWEEP_SAMPLER, f"scenario.actors.USA.willingness.mean={POINTS[i]}"])
        assert resume.is_done(tmp_path / str(i) / "forecast.nc", cfg)


def test_a_sweep_on_slurm_without_sbatch_is_a_clear_error(tmp_path):
    res = _sweep(
        tmp_path, "hydra.launcher.cluster.kind=slurm", points=("0.5",), env_path=str(tmp_path)
    )
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "hydra.launcher.cluster.kind=slurm needs Slurm's 'sbatch' on PATH" in res.stderr
    assert "Traceback" not in res.stderr


# ------------------------------------------------------------------------------------------
# What counts as done
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    cfg = load_config(SMALL)
    job_dir = tmp_path_factory.mktemp("done")
    run(cfg, job_dir)  # what a job writes: forecast.nc, then its reports
    return cfg, job_dir / "forecast.nc"


def _with(cfg, *overrides):
    """The ``finished`` fixture's config with ``overrides``."""
    return load_config([*SMALL, *overrides])


def test_a_finished_forecast_of_the_same_config_is_done(finished):
    cfg, path = finished
    assert resume.why_not_done(path, cfg) is None
    # threads, progress bar and executor cannot change the numbers
    same = _with(cfg, "sampler.threads=1", "sampler.progress=true", "executor=dask")
    assert resume.is_done(path, same)


@pytest.mark.parametrize(
    "overrides,reason",
    [
        (["sampler.draws=7"], "6 draws, the config asks for 7"),
        (["sampler.seed=1"], "made from a different config"),
        (["scenario.actors.USA.willingness.mean=0.6"], "made from a different config"),
    ],
)
def test_a_forecast_of_another_config_is_not_done(finished, overrides, reason):
    cfg, path = finished
    assert resume.why_not_done(path, _with(cfg, *overrides)) == reason


def test_missing_or_damaged_files_are_not_done(finished, tmp_path):
    cfg, path = finished
    assert resume.why_not_done(tmp_path / "forecast.nc", cfg) == "no result file"
    broken = tmp_path / "broken.nc"
    broken.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert resume.why_not_done(broken, cfg).startswith("unreadable")
    partial = tmp_path / "partial.nc"
    storage.write_atomic(storage.read(path).drop_vars("p_join"), partial)
    assert resume.why_not_done(partial, cfg) == "missing variables ['p_join']"
