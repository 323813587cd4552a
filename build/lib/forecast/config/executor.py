"""Schema of the ``executor`` config group: where the blocks of draws run.

``local`` runs them on a thread pool in this process; ``dask`` as Dask tasks on a
``LocalCluster`` of worker processes (``address: null``) or on an existing scheduler
(``address: tcp://HOST:PORT``); ``slurm`` on workers that dask-jobqueue submits as Slurm jobs.
Results depend only on ``(seed, draw)``, so every executor gives bitwise-identical forecasts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SlurmConfig:
    """One Slurm job = ``processes`` Dask worker processes sharing ``cores`` cores.

    Maps onto :class:`dask_jobqueue.SLURMCluster`; each worker process gets
    ``cores // processes`` threads.
    """

    # number of Slurm jobs to start (each one runs `processes` workers)
    jobs: int = 1
    # partition, `#SBATCH -p`
    queue: str | None = None
    # accounting string, `#SBATCH -A`
    account: str | None = None
    # cores and memory of one job (one node or part of one)
    cores: int = 8
    memory: str = "16GB"
    processes: int = 1
    walltime: str = "01:00:00"
    # network interface the workers listen on, e.g. ib0 (null: the default route)
    interface: str | None = None
    # node-local scratch for worker spill files, e.g. $TMPDIR (null: the working directory)
    local_directory: str | None = None
    # where Slurm writes the job's stdout/stderr (null: the submission directory)
    log_directory: str | None = None
    # more `#SBATCH` lines, e.g. ["--qos=normal", "--constraint=cpu"]
    job_extra_directives: list[str] = field(default_factory=list)
    # shell lines run before the worker starts, e.g. ["module load python/3.12"]
    job_script_prologue: list[str] = field(default_factory=list)
    # the Python that runs the workers on the nodes (null: this interpreter)
    python: str | None = None


@dataclass
class ExecutorConfig:
    # local: a thread pool in this process (sampler.threads threads)
    # dask: Dask tasks on a LocalCluster of processes, or on the scheduler at `address`
    # slurm: Dask tasks on workers submitted as Slurm jobs (see `slurm`)
    kind: str = "local"
    # tcp://HOST:PORT of a running Dask scheduler (dask only); null starts a LocalCluster
    address: str | None = None
    # LocalCluster worker processes (null: one per core)
    n_workers: int | None = None
    # threads (concurrent tasks) per LocalCluster worker (null: cores // n_workers, at least 1)
    threads_per_worker: int | None = None
    # epistemic draws per Dask task (null: about 4 tasks per worker thread, at most 64 draws)
    chunk_draws: int | None = None
    # seconds to wait for the scheduler to answer and for the first worker to join
    startup_timeout: float = 60.0
    # where the scheduler serves its dashboard, e.g. ":8787" (null: a free port; needs bokeh)
    dashboard_address: str | None = None
    slurm: SlurmConfig = field(default_factory=SlurmConfig)


KINDS = ("local", "dask", "slurm")


def validate(executor_cfg: Any, path: str = "executor") -> list[str]:
    """Every problem in an executor config, each naming its config path and value."""
    problems = []
    kind = str(executor_cfg.kind)
    if kind not in KINDS:
        problems.append(f"{path}.kind must be one of {list(KINDS)}, got {kind}")
    address = executor_cfg.address
    if address is not None and kind != "dask":
        problems.append(
            f"{path}.address={address} joins a Dask scheduler and needs {path}.kind=dask "
            f"(executor=dask), got {path}.kind={kind}"
        )
    if address is not None and not str(address).strip():
        problems.append(f"{path}.address must be tcp://HOST:PORT or null, got '{address}'")
    for key in ("n_workers", "threads_per_worker", "chunk_draws"):
        value = getattr(executor_cfg, key)
        if value is not None and value < 1:
            problems.append(f"{path}.{key} must be >= 1 or null, got {value}")
    if not executor_cfg.startup_timeout > 0:
        problems.append(f"{path}.startup_timeout must be > 0, got {executor_cfg.startup_timeout}")
    s = executor_cfg.slurm
    for key in ("jobs", "cores", "processes"):
        if getattr(s, key) < 1:
            problems.append(f"{path}.slurm.{key} must be >= 1, got {getattr(s, key)}")
    if s.processes > s.cores >= 1:
        problems.append(
            f"{path}.slurm.processes must be <= {path}.slurm.cores ({s.cores}), got {s.processes}"
        )
    return problems
