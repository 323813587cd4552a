"""The Dask executor on real clusters of worker processes: identical results, a killed worker,
joining a scheduler by address, the Slurm job script, and clear errors for bad input."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from distributed import Client, LocalCluster

from forecast import storage
from forecast.config import ConfigError
from forecast.config.loading import load_config
from forecast.jobs.run import simulate
from forecast.sampling import executors, sampler

# runs the console scripts / workers / notebooks as separate processes: out of the
# inner loop (-m 'not e2e'), always in CI
pytestmark = pytest.mark.e2e


def _assert_identical(a: sampler.Accumulators, b: sampler.Accumulators) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.shape == y.shape and x.dtype == y.dtype, f.name
        assert np.array_equal(x, y), f"{f.name} differs"


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes, as on this two-core machine."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster) as cl:
        yield cl


def test_place_rows_assembles_chunks_in_any_order(quick):
    cfg = quick(draws=7, realizations=500)
    plan = sampler.make_plan(cfg)
    whole = sampler.run_draws(plan, range(7))
    parts = [(rows, sampler.run_draws(plan, rows)) for rows in sampler.chunks(7, 3)]
    out = executors._full_like(parts[0][1], 7)
    for rows, part in reversed(parts):
        executors.place_rows(out, rows, part)
    _assert_identical(out, whole)


def test_dask_gives_the_local_result_bit_for_bit(quick, client):
    plan = sampler.make_plan(quick(draws=41, realizations=3000))
    local = sampler.run_local(plan)
    seen = []
    # 41 draws in chunks of 3: an uneven last chunk, spread over both worker processes
    dask = executors.run_dask(plan, client, chunk_draws=3, progress=seen.append)
    _assert_identical(dask, local)
    assert sum(seen) == 41 * 3000 and len(seen) == 14
    assert (dask.n == 3000).all()


def test_executor_dask_starts_a_local_cluster_of_processes_without_oversubscribing(quick):
    before = _children()
    cfg = quick("executor=dask", "executor.n_workers=2", draws=24, realizations=2000)
    plan = sampler.make_plan(cfg)
    with executors.connect(cfg.executor) as cl:
        # 2 cores: 2 worker processes of 1 thread each, and numba told the same
        assert sorted(cl.nthreads().values()) == [1, 1]
        pids = cl.run(os.getpid)
        assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
        assert set(cl.run(lambda: os.environ["NUMBA_NUM_THREADS"]).values()) == {"1"}
        result = executors.run_dask(plan, cl)
    _assert_identical(result, sampler.run_local(plan))
    # the cluster and its processes are gone
    deadline = time.monotonic() + 10
    while _children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _children() - before


def test_a_session_runs_many_plans_on_one_cluster(quick, cluster):
    cfg = quick("executor=dask", f"executor.address={cluster.scheduler_address}", draws=6)
    plans = [
        sampler.make_plan(quick(f"sampler.seed={seed}", draws=6, realizations=1000))
        for seed in (1, 2, 3)
    ]
    clients_before = len(cluster.scheduler.clients)
    with executors.session(cfg.executor) as runner:
        runs = [runner(plan) for plan in plans]
        # one more client, for all three plans
        assert len(cluster.scheduler.clients) == clients_before + 1
    for plan, acc in zip(plans, runs, strict=True):
        _assert_identical(acc, sampler.run_local(plan))


def test_simulate_joins_a_scheduler_by_address_with_identical_dataset(quick, cluster):
    local = simulate(quick(draws=20, realizations=2000))
    via = simulate(
        quick(
            "executor=dask",
            f"executor.address={cluster.scheduler_address}",
            draws=20,
            realizations=2000,
        )
    )
    assert "forecast-draws" in cluster.scheduler.task_prefixes  # it really ran there
    assert set(local.data_vars) == set(via.data_vars)
    for name in local.data_vars:
        assert np.array_equal(local[name].values, via[name].values, equal_nan=True), name


def _realizations_for(quick, seconds: float) -> int:
    """Realizations that make one draw take about ``seconds`` on this machine and kernel.

    Only sizes the work so that a task is surely running when its worker is killed; no timing is
    asserted.
    """
    probe = sampler.make_plan(quick(draws=1, realizations=20_000))
    sampler.run_draws(probe, [0])  # compiled or loaded from numba's cache
    t0 = time.perf_counter()
    sampler.run_draws(probe, [0])
    rate = 20_000 / max(time.perf_counter() - t0, 1e-6)
    return int(np.clip(round(rate * seconds, -3), 20_000, 5_000_000))


def test_a_killed_worker_is_replaced_and_the_result_is_identical(quick):
    n_draws = 16
    plan = sampler.make_plan(quick(draws=n_draws, realizations=_realizations_for(quick, 0.1)))
    seen: list[int] = []
    killed: dict[str, int] = {}
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as cl,
    ):
        pids = cl.run(os.getpid)

        def progress(n: int) -> None:
            # at the first finished chunk, SIGKILL a worker that is running a task right now
            seen.append(n)
            if killed:
                return
            busy = [addr for addr, keys in cl.processing().items() if keys]
            assert busy, "no task in flight to interrupt"
            killed["pid"], killed["done"] = pids[busy[0]], len(seen)
            os.kill(pids[busy[0]], signal.SIGKILL)

        result = executors.run_dask(plan, cl, chunk_draws=1, progress=progress)
        assert killed and killed["done"] < n_draws - 2, "the kill came too late to matter"
        # the nanny started a new worker process in place of the killed one
        cl.wait_for_workers(2, timeout=60)
        assert killed["pid"] not in cl.run(os.getpid).values()
    assert not psutil.pid_exists(killed["pid"])
    assert len(seen) == n_draws  # each chunk counted once, though one ran twice
    _assert_identical(result, sampler.run_local(plan))


# ------------------------------------------------------------------------------------------
# Slurm: no Slurm here, so check the job script it would submit
# ------------------------------------------------------------------------------------------


def test_slurm_job_script_carries_the_config():
    from dask_jobqueue import SLURMCluster

    cfg = load_config(
        [
            "executor=slurm",
            "executor.slurm.queue=short",
            "executor.slurm.account=proj42",
            "executor.slurm.cores=16",
            "executor.slurm.processes=4",
            "executor.slurm.memory=64GB",
            "executor.slurm.walltime=02:30:00",
            "executor.slurm.job_extra_directives=['--qos=high','--constraint=cpu']",
            "executor.slurm.job_script_prologue=['module load python/3.12']",
        ]
    )
    with SLURMCluster(**executors.slurm_kwargs(cfg.executor)) as cluster:
        script = cluster.job_script()
        assert cluster.scheduler_address in script
        assert not cluster.workers  # nothing submitted
    lines = script.splitlines()
    for expected in (
        "#SBATCH -p short",
        "#SBATCH -A proj42",
        "#SBATCH --cpus-per-task=16",
        "#SBATCH -t 02:30:00",
        "#SBATCH --qos=high",
        "#SBATCH --constraint=cpu",
        "export NUMBA_NUM_THREADS=4",
        "module load python/3.12",
    ):
        assert expected in lines, expected
    assert any(line.startswith("#SBATCH --mem=") for line in lines)
    # 4 worker processes of 16 // 4 = 4 threads, with this interpreter
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert worker.startswith(sys.executable)
    assert "--nworkers 4" in worker and "--nthreads 4" in worker
    # the environment is set before the worker starts
    assert lines.index("export NUMBA_NUM_THREADS=4") < lines.index(worker)


# Slurm is not installed here. These stand-ins run a submitted job script on this machine, in a
# session of its own, as Slurm would run it on a node; everything else is the real dask-jobqueue.
_SBATCH = """#!/usr/bin/env bash
script="$(mktemp)"; cp "$1" "$script"   # dask-jobqueue deletes its copy on return
setsid bash "$script" >>"$FAKE_SLURM_DIR/jobs.log" 2>&1 </dev/null &
echo $! >>"$FAKE_SLURM_DIR/jobs"
echo "Submitted batch job $!"
"""
_SCANCEL = """#!/usr/bin/env bash
for job in "$@"; do kill -TERM -- "-$job" 2>/dev/null || true; done
"""


def test_executor_slurm_runs_on_the_workers_its_jobs_start(quick, tmp_path, monkeypatch):
    for name, text in (("sbatch", _SBATCH), ("scancel", _SCANCEL)):
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_DIR", str(tmp_path))
    cfg = quick(
        "executor=slurm", "executor.slurm.jobs=1", "executor.slurm.cores=2",
        "executor.slurm.processes=2", "executor.slurm.memory=4GB",
        "executor.slurm.interface=lo", "executor.startup_timeout=120",
        draws=20, realizations=2000,
    )  # fmt: skip
    plan = sampler.make_plan(cfg)
    try:
        result = executors.run(plan, cfg.executor)
    finally:
        jobs = (tmp_path / "jobs").read_text().split() if (tmp_path / "jobs").exists() else []
        for job in jobs:  # scancel ran at close; make sure even if the run failed
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(job), signal.SIGKILL)
    assert len(jobs) == 1  # one job submitted, with its two worker processes
    assert "Start worker" in (tmp_path / "jobs.log").read_text()
    _assert_identical(result, sampler.run_local(plan))


def test_slurm_without_sbatch_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch on this PATH
    cfg = load_config(["executor=slurm"])
    with pytest.raises(ConfigError, match="executor.kind=slurm needs Slurm's 'sbatch'"):
        executors.slurm_cluster(cfg.executor)


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,expected",
    [
        (
            ["executor.kind=spark"],
            "executor.kind must be one of ['local', 'dask', 'slurm'], got spark",
        ),
        (
            ["executor=dask", "executor.n_workers=0"],
            "executor.n_workers must be >= 1 or null, got 0",
        ),
        (
            ["executor.address=tcp://127.0.0.1:8786"],
            "executor.address=tcp://127.0.0.1:8786 joins a Dask scheduler and needs "
            "executor.kind=dask",
        ),
        (
            ["executor=slurm", "executor.slurm.cores=2", "executor.slurm.processes=4"],
            "executor.slurm.processes must be <= executor.slurm.cores (2), got 4",
        ),
    ],
)
def test_bad_executor_config_names_path_and_value(quick, overrides, expected):
    cfg = quick(*overrides, draws=2, realizations=100)
    with pytest.raises(ConfigError) as info:
        executors.run(sampler.make_plan(cfg), cfg.executor)
    (problem,) = info.value.problems
    assert expected in problem


def test_unreachable_scheduler_is_a_clear_error(quick):
    address = f"tcp://127.0.0.1:{_free_port()}"
    cfg = quick(
        "executor=dask", f"executor.address={address}", "executor.startup_timeout=1", draws=2
    )
    with pytest.raises(ConfigError) as info:
        executors.run(sampler.make_plan(cfg), cfg.executor)
    (problem,) = info.value.problems
    assert problem.startswith(f"executor.address: no Dask scheduler answered at {address}")


def test_a_scheduler_without_workers_is_a_clear_error(quick):
    with LocalCluster(n_workers=0, processes=True, dashboard_address=":0") as empty:
        address = empty.scheduler_address
        cfg = quick(
            "executor=dask", f"executor.address={address}", "executor.startup_timeout=1", draws=2
        )
        with pytest.raises(ConfigError) as info:
            executors.run(sampler.make_plan(cfg), cfg.executor)
    assert info.value.problems == [
        f"executor.address={address}: no Dask worker joined within 1 s (executor.startup_timeout)"
    ]


@pytest.mark.parametrize(
    "args,expected",
    [
        (["executor.kind=spark"], "executor.kind must be one of"),
        (
            [
                "executor=dask",
                "executor.address=tcp://127.0.0.1:{port}",
                "executor.startup_timeout=1",
            ],
            "executor.address: no Dask scheduler answered at tcp://127.0.0.1:{port}",
        ),
    ],
)
def test_cli_bad_executor_exits_2_without_traceback_or_output(tmp_path, args, expected):
    port = _free_port()
    args = [a.format(port=port) for a in args]
    cmd = [
        sys.executable,
        "-m",
        "forecast.cli.run",
        f"hydra.run.dir={tmp_path}",
        "sampler.draws=4",
        "sampler.realizations=500",
        "sampler.block_size=500",
        *args,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert expected.format(port=port) in res.stderr
    assert "Traceback" not in res.stderr
    assert not (Path(tmp_path) / "forecast.nc").exists()


def test_cli_executor_dask_writes_the_local_forecast(quick, tmp_path):
    args = ["sampler.draws=12", "sampler.realizations=1000", "sampler.block_size=500"]
    cmd = [
        sys.executable, "-m", "forecast.cli.run", f"hydra.run.dir={tmp_path}",
        "executor=dask", "executor.n_workers=2", "executor.chunk_draws=2", *args,
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"wrote {tmp_path / 'forecast.nc'}" in res.stdout

    via = storage.read(tmp_path / "forecast.nc")
    local = simulate(quick(*args, draws=12, realizations=1000))
    assert "kind: dask" in via.attrs["config"]
    for name in local.data_vars:
        assert np.array_equal(local[name].values, via[name].values, equal_nan=True), name


_LOGS_AN_ERROR = """
import logging

from forecast.config.loading import load_config
from forecast.sampling import executors


def heartbeat_fails():
    try:
        raise OSError("the scheduler has gone")
    except OSError:
        logging.getLogger("distributed.worker").exception(
            "Failed to communicate with scheduler during heartbeat."
        )
    return True


cfg = load_config(["executor=dask", "executor.n_workers=1"])
with executors.connect(cfg.executor) as client:
    assert all(client.run(heartbeat_fails).values())
    heartbeat_fails()  # and in the process that owns the cluster
"""


def test_distributed_logs_its_errors_in_one_line_without_a_traceback():
    """What a worker prints when its heartbeat fails after Ctrl-C: the message and the
    exception, not distributed's traceback (in the workers, and in the process that owns the
    cluster)."""
    res = subprocess.run(
        [sys.executable, "-c", _LOGS_AN_ERROR], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    line = "during heartbeat. (OSError: the scheduler has gone)"
    assert res.stderr.count(line) == 2, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
