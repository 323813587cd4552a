"""``hydra/launcher=dask``: each job of a sweep is one Dask task; the Dask scheduler schedules.

The launcher, in the process that ran ``forecast -m ...``:

1. composes every job's config and checks them all before anything runs (bad input in any job
   exits 2 and nothing is computed);
2. skips the jobs whose ``forecast.nc`` is already a finished result of the same config
   (:mod:`forecast.results.resume`), so an interrupted sweep re-run with the same command and the
   same
   ``hydra.sweep.dir`` computes only what is missing;
3. submits the others to a Dask cluster (``hydra.launcher.cluster``, the schema of
   ``executor``: a ``LocalCluster`` of worker processes by default, ``cluster.address`` for a
   running scheduler, ``cluster.kind=slurm`` for Slurm jobs) and waits for them.

Each job runs on a worker exactly as Hydra's basic launcher would run it (``run_job``: its own
output dir, ``.hydra/`` records and log file), with the local thread executor. The output dirs
must be on a file system that the workers share with this process.

A worker process runs one Hydra job at a time, since Hydra keeps the job's config in
process-wide singletons; a job whose ``sampler.threads`` is null uses the worker's threads. The
default cluster is one single-threaded worker per core, so jobs run side by side without
oversubscribing the cores.
"""

# No `from __future__ import annotations`: Hydra's plugin scanner runs this module before it is
# in sys.modules, where dataclasses would look up string annotations.
import contextlib
import io
import logging
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import (
    JobReturn,
    JobStatus,
    configure_log,
    filter_overrides,
    run_job,
    setup_globals,
)
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from forecast.config.executor import ExecutorConfig

log = logging.getLogger(__name__)


@dataclass
class DaskLauncherConf:
    _target_: str = "hydra_plugins.forecast_dask_launcher.dask_launcher.DaskLauncher"
    # where the jobs run: the `executor` schema (kind dask or slurm; address; n_workers; ...)
    cluster: ExecutorConfig = field(
        default_factory=lambda: ExecutorConfig(kind="dask", threads_per_worker=1)
    )
    # skip jobs whose forecast.nc is already a finished result of the same config
    resume: bool = True


ConfigStore.instance().store(
    group="hydra/launcher", name="dask", node=DaskLauncherConf, provider="forecast"
)

# Hydra's HydraConfig and JobRuntime are process-wide singletons: one job per process at a time.
_JOB_LOCK = threading.Lock()


class JobExited(Exception):
    """A job called ``sys.exit`` on its worker; carried back to the launcher as an error."""


def execute_job(
    shared: tuple[HydraContext, TaskFunction, dict[Any, Any]],
    sweep_config: DictConfig,
) -> JobReturn:
    """Run one Hydra job on a Dask worker, as Hydra's basic launcher runs it locally.

    ``shared`` is what every job of the sweep needs alike: Hydra's context, the task function and
    Hydra's singletons' state (about 70 kB, sent once as a task of its own).
    """
    import dask
    from distributed import get_worker

    hydra_context, task_function, singleton_state = shared

    # xarray asks dask for a scheduler when it writes forecast.nc; inside a task that would open
    # a client from the worker back to the scheduler, for numpy data that needs none
    with _JOB_LOCK, dask.config.set(scheduler="synchronous"):
        setup_globals()
        Singleton.set_state(singleton_state)
        if sweep_config.sampler.threads is None:
            # all of this worker's threads: the job is the only one running in the process
            with open_dict(sweep_config):
                sweep_config.sampler.threads = get_worker().state.nthreads
        stderr = _Tee(sys.stderr)
        try:
            with contextlib.redirect_stderr(stderr):
                return run_job(
                    hydra_context=hydra_context,
                    task_function=task_function,
                    config=sweep_config,
                    job_dir_key="hydra.sweep.dir",
                    job_subdir_key="hydra.sweep.subdir",
                )
        except SystemExit as exc:  # a SystemExit would end the worker's thread, not the job
            # the job printed why on the worker, which may be another machine: bring it back
            said = stderr.text().strip()
            error = JobExited(
                f"job {sweep_config.hydra.job.num} exited with status {exc.code}"
                + (f":\n{said}" if said else "")
            )
            return _job_return(sweep_config, JobStatus.FAILED, error)


class _Tee(io.TextIOBase):
    """Writes to ``stream`` and keeps the last few thousand characters written."""

    def __init__(self, stream: Any, keep: int = 4000) -> None:
        self.stream, self.keep, self.buf = stream, keep, ""

    def write(self, text: str) -> int:
        self.buf = (self.buf + text)[-self.keep :]
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def text(self) -> str:
        return self.buf


class DaskLauncher(Launcher):
    """Runs each job of a sweep as one task on a Dask cluster; see the module docstring."""

    def __init__(self, cluster: DictConfig, resume: bool = True) -> None:
        self.cluster = cluster
        self.resume = resume
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self,
        *,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        config: DictConfig,
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from forecast.cli.run import EXIT_BAD_INPUT, EXIT_INTERRUPTED
        from forecast.config import ConfigError

        try:
            return self._launch(job_overrides, initial_job_idx)
        except ConfigError as exc:
            # as the CLI does for a single run: every problem, status 2, no traceback
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            print(
                "interrupted: finished jobs kept their forecast.nc; run the same command again "
                "(with the same hydra.sweep.dir) to compute only the rest",
                file=sys.stderr,
            )
            sys.exit(EXIT_INTERRUPTED)

    def _launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from distributed import as_completed

        from forecast.config import ConfigError
        from forecast.sampling import executors

        assert self.config is not None and self.hydra_context is not None
        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)

        jobs = [
            self._job_config(initial_job_idx + i, overrides)
            for i, overrides in enumerate(job_overrides)
        ]
        problems = [p for idx, cfg, _ in jobs for p in _job_problems(idx, cfg)]
        if problems:
            raise ConfigError(problems)

        returns: dict[int, JobReturn] = {}
        todo: list[tuple[int, DictConfig]] = []
        for idx, cfg, job_dir in jobs:
            reason = _why_not_done(job_dir, cfg) if self.resume else "resume is off"
            if reason is None:
                log.info(f"\t#{idx} : done already, skipped ({job_dir})")
                returns[idx] = _job_return(cfg, JobStatus.COMPLETED)
            else:
                args = " ".join(filter_overrides(cfg.hydra.overrides.task))
                log.info(f"\t#{idx} : {args} ({reason})")
                todo.append((idx, cfg))
        log.info(f"Launching {len(todo)} jobs on Dask ({len(jobs) - len(todo)} done already)")
        if todo:
            token = uuid.uuid4().hex
            with executors.connect(self.cluster, path="hydra.launcher.cluster") as client:
                # a task, not scattered data, so that it is recomputed if its worker is lost
                shared = client.submit(
                    _identity,
                    (self.hydra_context, self.task_function, Singleton.get_state()),
                    key=f"hydra-shared-{token}",
                )
                futures = {}
                for idx, cfg in todo:
                    key = f"hydra-job-{idx}-{token}"
                    futures[client.submit(execute_job, shared, cfg, key=key)] = (idx, cfg)
                for future in as_completed(futures):
                    idx, cfg = futures[future]
                    try:
                        ret = future.result()
                    except Exception as exc:  # e.g. KilledWorker: the job took workers down
                        ret = _job_return(cfg, JobStatus.FAILED, exc)
                    # a failed job does not stop the others; Hydra reports it after the batch
                    log.info(f"\t#{idx} : {ret.status.name.lower()}")
                    returns[idx] = ret
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return [returns[idx] for idx, _, _ in jobs]

    def _job_config(self, idx: int, overrides: Sequence[str]) -> tuple[int, DictConfig, Path]:
        """The job's full config (with its ``hydra`` node) and its output dir, as run_job has it."""
        assert self.hydra_context is not None and self.config is not None
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.id = idx
            cfg.hydra.job.num = idx
            # resolved here, once: a worker elsewhere has another working directory and clock
            cfg.hydra.sweep.dir = str(Path(str(cfg.hydra.sweep.dir)).absolute())
        HydraConfig.instance().set_config(cfg)
        job_dir = Path(cfg.hydra.sweep.dir) / str(cfg.hydra.sweep.subdir)
        return idx, cfg, job_dir


def _identity(x: Any) -> Any:
    return x


def _task_config(cfg: DictConfig) -> DictConfig:
    task = cfg.copy()
    with open_dict(task):
        del task["hydra"]
    return task


def _job_problems(idx: int, cfg: DictConfig) -> list[str]:
    """Every problem of job ``idx``'s config, prefixed with the job and its overrides."""
    from forecast.analysis import sensitivity as analysis
    from forecast.config import ConfigError
    from forecast.sampling import sampler

    task = _task_config(cfg)
    problems = []
    try:
        # what the job itself checks before it samples: every domain rule and analysis option,
        # then the inputs the plan needs (a calibrated posterior, say), on one draw to keep a
        # large sweep's check short
        analysis.check(task)
        one = task.copy()
        one.sampler.draws = 1
        sampler.make_plan(one)
    except ConfigError as exc:
        problems += exc.problems
    if str(task.executor.kind) != "local":
        problems.append(
            f"executor.kind must be local under hydra/launcher=dask (each job runs on one "
            f"Dask worker; set the cluster with hydra.launcher.cluster), got {task.executor.kind}"
        )
    where = f"job #{idx} ({' '.join(filter_overrides(cfg.hydra.overrides.task)) or 'defaults'})"
    return [f"{where}: {p}" for p in problems]


def _why_not_done(job_dir: Path, cfg: DictConfig) -> str | None:
    from forecast.results import resume

    return resume.why_not_done(job_dir / str(cfg.output.filename), _task_config(cfg))


def _job_return(cfg: DictConfig, status: JobStatus, value: Any = None) -> JobReturn:
    """A JobReturn for a job that run_job did not return from: skipped as done, or failed."""
    ret = JobReturn(
        overrides=list(cfg.hydra.overrides.task),
        cfg=_task_config(cfg),
        hydra_cfg=cfg,
        working_dir=str(Path(cfg.hydra.sweep.dir) / str(cfg.hydra.sweep.subdir)),
        task_name=str(cfg.hydra.job.name),
        status=status,
    )
    ret.return_value = value
    return ret
