"""Schema of the ``executor`` config group: where the blocks of draws run.

``local`` runs them on a thread pool in this process; ``dask`` as Dask tasks on a
``LocalCluster`` of worker processes (``address: null``) or on an existing scheduler
(``address: tcp://HOST:PORT``); ``slurm`` on workers that dask-jobqueue submits as Slurm jobs.
Results depend only on ``(seed, draw)``, so every executor gives bitwise-identical forecasts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional


@dataclass
class SlurmConfig:
    """One Slurm job = ``processes`` Dask worker processes sharing ``cores`` cores.

    Maps onto :class:`dask_jobqueue.SLURMCluster`; each worker process gets
    ``cores // processes`` threads.
    """

    # number of Slurm jobs to start (each one runs `processes` workers)
    jobs: int = 1
    # partition, `#SBATCH -p`
    queue: Optional[str] = None
    # accounting string, `#SBATCH -A`
    account: Optional[str] = None
    # cores and memory of one job (one node or part of one)
    cores: int = 8
    memory: str = "16GB"
    processes: int = 1
    walltime: str = "01:00:00"
    # network interface the workers listen on, e.g. ib0 (null: the default route)
    interface: Optional[str] = None
    # node-local scratch for worker spill files, e.g. $TMPDIR (null: the working directory)
    local_directory: Optional[str] = None
    # where Slurm writes the job's stdout/stderr (null: the submission directory)
    log_directory: Optional[str] = None
    # more `#SBATCH` lines, e.g. ["--qos=normal", "--constraint=cpu"]
    job_extra_directives: List[str] = field(default_factory=list)
    # shell lines run before the worker starts, e.g. ["module load python/3.12"]
    job_script_prologue: List[str] = field(default_factory=list)
    # the Python that runs the workers on the nodes (null: this interpreter)
    python: Optional[str] = None


@dataclass
class ExecutorConfig:
    # local: a thread pool in this process (sampler.threads threads)
    # dask: Dask tasks on a LocalCluster of processes, or on the scheduler at `address`
    # slurm: Dask tasks on workers submitted as Slurm jobs (see `slurm`)
    kind: str = "local"
    # tcp://HOST:PORT of a running Dask scheduler (dask only); null starts a LocalCluster
    address: Optional[str] = None
    # LocalCluster worker processes (null: one per core)
    n_workers: Optional[int] = None
    # threads (concurrent tasks) per LocalCluster worker (null: cores // n_workers, at least 1)
    threads_per_worker: Optional[int] = None
    # epistemic draws per Dask task (null: about 4 tasks per worker thread, at most 64 draws)
    chunk_draws: Optional[int] = None
    # seconds to wait for the scheduler to answer and for the first worker to join
    startup_timeout: float = 60.0
    # where the scheduler serves its dashboard, e.g. ":8787" (null: a free port; needs bokeh)
    dashboard_address: Optional[str] = None
    slurm: SlurmConfig = field(default_factory=SlurmConfig)
