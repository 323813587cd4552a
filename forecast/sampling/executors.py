"""Where the blocks of draws run. Every executor returns the same :class:`Accumulators`.

Results depend only on ``(seed, draw)``, never on the executor, so every executor gives
bitwise-identical forecasts.

- ``local``: :func:`forecast.sampling.sampler.run_local`, a thread pool in this process.
- ``dask``: chunks of draws as Dask tasks, each one :func:`forecast.sampling.sampler.run_draws` on a
  worker; a ``LocalCluster`` of worker *processes* when ``executor.address`` is null, else the
  scheduler at that address.
- ``slurm``: the same tasks on workers that dask-jobqueue submits as Slurm jobs.

Cores are not oversubscribed: a task runs its draws serially in one thread (the numba kernels
release the GIL), so a worker runs ``threads_per_worker`` draws at once, and a LocalCluster's
``n_workers * threads_per_worker`` defaults to the number of cores. ``NUMBA_NUM_THREADS`` is set
to the worker's thread count so that numba's own thread pool, if a kernel ever uses one, stays
within the worker's share.

Dask and distributed are imported only when a Dask executor is used.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.config import ConfigError
from forecast.config.executor import validate
from forecast.sampling.sampler import (
    Accumulators,
    Plan,
    chunks,
    default_threads,
    run_draws,
    run_local,
)

if TYPE_CHECKING:  # pragma: no cover
    from dask_jobqueue import SLURMCluster
    from distributed import Client


#: Largest automatic chunk: small enough that a lost worker costs little recomputation.
MAX_AUTO_CHUNK = 64
#: Automatic chunking aims at this many tasks per worker thread, to balance the load.
TASKS_PER_THREAD = 4


def run(
    plan: Plan, executor_cfg: Any, progress: Callable[[int], None] | None = None
) -> Accumulators:
    """Run every draw of ``plan`` on the executor that ``executor_cfg.kind`` names."""
    problems = validate(executor_cfg)
    if problems:
        raise ConfigError(problems)
    if str(executor_cfg.kind) == "local":
        return run_local(plan, progress=progress)
    with connect(executor_cfg) as client:
        return run_dask(plan, client, chunk_draws=executor_cfg.chunk_draws, progress=progress)


Runner = Callable[..., Accumulators]


@contextmanager
def session(executor_cfg: Any) -> Iterator[Runner]:
    """A ``runner(plan, progress=None)`` for many plans on one executor.

    A Dask cluster is started (or joined) once for all the plans run inside the ``with`` block,
    not once per plan as repeated :func:`run` calls would: for rounds of a precision rule, or
    the plans of a sensitivity analysis.
    """
    problems = validate(executor_cfg)
    if problems:
        raise ConfigError(problems)
    if str(executor_cfg.kind) == "local":
        yield lambda plan, progress=None: run_local(plan, progress=progress)
        return
    with connect(executor_cfg) as client:
        chunk = executor_cfg.chunk_draws
        yield lambda plan, progress=None: run_dask(plan, client, chunk, progress)


# ----------------------------------------------------------------------------------------------
# Clusters
# ----------------------------------------------------------------------------------------------


def local_shape(n_workers: int | None, threads_per_worker: int | None) -> tuple[int, int]:
    """Worker processes and threads per worker of a LocalCluster that fills, not exceeds, the cores.

    Defaults: one single-threaded worker per core; given ``n_workers`` alone, the cores are shared
    out, ``cores // n_workers`` threads each (at least 1).
    """
    cores = default_threads()
    n = int(n_workers) if n_workers is not None else cores
    threads = int(threads_per_worker) if threads_per_worker is not None else max(1, cores // n)
    return n, threads


@contextmanager
def connect(executor_cfg: Any, path: str = "executor") -> Iterator[Client]:
    """A Dask client for ``executor_cfg``, with every cluster it started closed on exit.

    ``path`` is where the config sits, for messages (``hydra.launcher.cluster`` in sweeps).
    Raises :class:`ConfigError` naming the config path when the scheduler at ``address`` does not
    answer, when no worker joins within ``startup_timeout``, or when Slurm is not installed.
    """
    problems = validate(executor_cfg, path)
    if str(executor_cfg.kind) == "local":
        problems.append(f"{path}.kind must be dask or slurm to start or join a cluster, got local")
    if problems:
        raise ConfigError(problems)
    with _quiet_distributed():
        yield from _connect(executor_cfg, path)


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Keep distributed's INFO chatter (workers joining, comms closing) out of the run's log.

    Hydra configures the root logger at INFO for the job's log; the in-process scheduler would
    fill it. Warnings (a lost worker, say) still show.
    """
    import distributed  # noqa: F401  (its import sets up its logger and handler)

    logger = logging.getLogger("distributed")
    level = logger.level
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
    handlers = one_line_errors()
    try:
        yield
    finally:
        logger.setLevel(level)
        for handler in handlers:
            handler.removeFilter(ONE_LINE)


class _OneLine(logging.Filter):
    """A distributed log record's exception on its message's line, without the traceback.

    When a run is stopped (Ctrl-C) or its cluster closed while a worker is busy, the worker's
    heartbeat to the scheduler that has gone fails, and distributed logs that with a traceback
    from its TCP comm: noise for a user who pressed Ctrl-C, and the same in any other error of
    its own. The message stays, with the exception's type and text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args = ()
        record.exc_info = record.exc_text = record.stack_info = None
        return True


ONE_LINE = _OneLine()


def one_line_errors() -> list[logging.Handler]:
    """Put :class:`_OneLine` on the handlers of the ``distributed`` logger; return them."""
    handlers = list(logging.getLogger("distributed").handlers)
    for handler in handlers:
        handler.addFilter(ONE_LINE)
    return handlers


def _connect(executor_cfg: Any, path: str) -> Iterator[Client]:
    from distributed import Client, LocalCluster

    kind, address = str(executor_cfg.kind), executor_cfg.address
    timeout = float(executor_cfg.startup_timeout)
    if address is not None:
        try:
            client = Client(str(address), timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                [f"{path}.address: no Dask scheduler answered at {address} ({exc})"]
            ) from None
        with client:
            _wait_for_workers(client, timeout, f"{path}.address={address}")
            yield client
    elif kind == "slurm":
        with slurm_cluster(executor_cfg, path) as cluster:
            cluster.scale(jobs=int(executor_cfg.slurm.jobs))
            with Client(cluster) as client:
                _wait_for_workers(client, timeout, f"{path}.kind=slurm")
                yield client
    else:
        n, threads = local_shape(executor_cfg.n_workers, executor_cfg.threads_per_worker)
        with (
            LocalCluster(
                n_workers=n,
                threads_per_worker=threads,
                processes=True,
                dashboard_address=_dashboard(executor_cfg),
                env={"NUMBA_NUM_THREADS": str(threads)},
                preload=[__name__],  # runs dask_setup below in each worker process
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client


def _dashboard(executor_cfg: Any) -> str:
    # distributed serves its HTTP endpoints even without a dashboard; ":0" takes a free port so
    # that two clusters on one machine never clash over the default 8787
    address = executor_cfg.dashboard_address
    return ":0" if address is None else str(address)


def dask_setup(worker: Any) -> None:
    """Preload hook of LocalCluster workers: leave Ctrl-C to the process that owns the cluster.

    A Ctrl-C in a terminal reaches every process of the foreground group. The ``forecast``
    process then stops the run and closes the cluster; without this each worker would also die
    of its own KeyboardInterrupt and print a traceback. A busy worker whose scheduler has gone
    logs its failed heartbeat in one line, without the traceback (:class:`_OneLine`).
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_line_errors()


def _wait_for_workers(client: Client, timeout: float, where: str) -> None:
    """Fail clearly, instead of waiting forever, when a cluster has no worker to run on."""
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise ConfigError(
            [f"{where}: no Dask worker joined within {timeout:g} s (executor.startup_timeout)"]
        ) from None


def slurm_cluster(executor_cfg: Any, path: str = "executor") -> SLURMCluster:
    """A dask-jobqueue ``SLURMCluster`` built from ``executor_cfg.slurm``; it submits nothing.

    Call ``.scale(jobs=...)`` to submit worker jobs and ``.job_script()`` to see what they run.
    Each job runs ``processes`` workers of ``cores // processes`` threads, and exports
    ``NUMBA_NUM_THREADS`` to the same number before the workers start.
    """
    from dask_jobqueue import SLURMCluster

    submit = SLURMCluster.job_cls.submit_command
    if shutil.which(submit) is None:
        raise ConfigError(
            [
                f"{path}.kind=slurm needs Slurm's '{submit}' on PATH; run from a Slurm login "
                "node, or use executor=dask"
            ]
        )
    return SLURMCluster(**slurm_kwargs(executor_cfg))


def slurm_kwargs(executor_cfg: Any) -> dict[str, Any]:
    """Keyword arguments of ``SLURMCluster`` for ``executor_cfg`` (kept apart to test them)."""
    s = executor_cfg.slurm
    threads = max(1, int(s.cores) // int(s.processes))
    scheduler_options: dict[str, Any] = {"dashboard_address": _dashboard(executor_cfg)}
    if s.interface is not None:
        scheduler_options["interface"] = s.interface
    return {
        "queue": s.queue,
        "account": s.account,
        "cores": int(s.cores),
        "processes": int(s.processes),
        "memory": str(s.memory),
        "walltime": str(s.walltime),
        "interface": s.interface,
        "local_directory": s.local_directory,
        "log_directory": s.log_directory,
        "job_extra_directives": list(s.job_extra_directives),
        "job_script_prologue": [f"export NUMBA_NUM_THREADS={threads}", *s.job_script_prologue],
        "python": s.python or sys.executable,
        "scheduler_options": scheduler_options,
    }


# ----------------------------------------------------------------------------------------------
# Draws as tasks
# ----------------------------------------------------------------------------------------------


def auto_chunk(n_draws: int, n_threads: int) -> int:
    """Draws per task: about ``TASKS_PER_THREAD`` tasks per worker thread, 1..MAX_AUTO_CHUNK."""
    per = math.ceil(n_draws / (TASKS_PER_THREAD * max(1, n_threads)))
    return max(1, min(MAX_AUTO_CHUNK, per))


def run_dask(
    plan: Plan,
    client: Client,
    chunk_draws: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Accumulators:
    """Run every draw of ``plan`` as Dask tasks of ``chunk_draws`` draws on ``client``'s cluster.

    The plan is sent once, as a task of its own, so that it has lineage: if the worker holding it
    dies, the scheduler recomputes it (scattered data would be lost). Each chunk is a pure task,
    :func:`forecast.sampling.sampler.run_draws`, whose result depends only on ``(seed, draws)``; a
    task
    lost with a killed worker is simply run again elsewhere with the same result. Chunks are
    placed by their draw rows as they complete, so the order of completion does not matter.

    Parameters
    ----------
    plan
        The run's plan (picklable with cloudpickle).
    client
        A connected Dask client; the caller owns it.
    chunk_draws
        Draws per task; ``None`` chooses :func:`auto_chunk` of the cluster's thread count.
    progress
        Called with the realizations of each completed chunk.

    Returns
    -------
    Accumulators
        With leading dim ``plan.n_draws``, rows in draw order.
    """
    from distributed import as_completed

    D = plan.n_draws
    if chunk_draws is None:
        chunk_draws = auto_chunk(D, sum(client.nthreads().values()))
    # a fresh token per run: keys never collide with another run's on a shared scheduler
    token = uuid.uuid4().hex
    plan_future = client.submit(_identity, plan, key=f"forecast-plan-{token}", pure=False)
    todo = chunks(D, int(chunk_draws))
    futures = {
        client.submit(
            run_draws, plan_future, rows, key=f"forecast-draws-{token}-{rows.start}"
        ): rows
        for rows in todo
    }
    out: Accumulators | None = None
    done = np.zeros(D, dtype=bool)
    try:
        for future, part in as_completed(futures, with_results=True):
            rows = futures[future]
            if out is None:
                out = _full_like(part, D)
            place_rows(out, rows, part)
            done[rows.start : rows.stop] = True
            future.release()  # the worker may drop the chunk as soon as we hold it
            if progress:
                progress(len(rows) * plan.settings.realizations)
    except BaseException:
        client.cancel([*futures, plan_future])
        raise
    assert out is not None and done.all(), "a chunk of draws was never returned"
    return out


def _identity(x: Any) -> Any:
    return x


def _full_like(part: Accumulators, n_draws: int) -> Accumulators:
    """Zeroed accumulators of ``n_draws`` rows with every field shaped and typed like ``part``."""
    return Accumulators(
        **{
            f.name: np.zeros(
                (n_draws, *getattr(part, f.name).shape[1:]), getattr(part, f.name).dtype
            )
            for f in dataclasses.fields(part)
        }
    )


def place_rows(out: Accumulators, rows: Sequence[int], part: Accumulators) -> None:
    """Copy ``part`` (the draws ``rows``, in order) into those rows of every field of ``out``."""
    idx = np.asarray(rows, dtype=np.intp)
    for f in dataclasses.fields(out):
        getattr(out, f.name)[idx] = getattr(part, f.name)
