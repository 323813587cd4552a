"""The path from a config to a file on disk, without Hydra: config -> plan -> arrays -> Dataset.

``simulate(cfg)`` is what notebooks and tests call; :mod:`forecast.cli.run` only wraps it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from omegaconf import DictConfig, OmegaConf

from forecast import storage
from forecast.results import conventions
from forecast.results import dataset as results
from forecast.sampling import executors, sampler


@contextmanager
def progress_bar(total: int, enabled: bool | None) -> Iterator[Any]:
    """A tqdm bar on stderr counting crises; off when stderr is not a terminal (unless forced)."""
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else bool(enabled)
    bar = tqdm(
        total=total,
        unit=" crises",
        unit_scale=True,
        disable=not show,
        file=sys.stderr,
        mininterval=0.5,
        delay=1.0,
        desc="sampling",
    )
    try:
        yield bar.update
    finally:
        bar.close()


def simulate(cfg: DictConfig, progress: bool | None = False, validated: bool = False) -> xr.Dataset:
    """Run the forecast described by ``cfg`` and return it as a Dataset (nothing is written).

    ``validated=True``: the caller has just checked ``cfg``, so it is not checked again.
    """
    plan = sampler.make_plan(cfg, validated=validated)
    t0 = time.perf_counter()
    if cfg.sampler.target_mcse is None:
        with progress_bar(plan.n_draws * plan.settings.realizations, progress) as update:
            acc = executors.run(plan, cfg.executor, progress=update)
        stats = sampler.summarise(plan, acc)
        stopping: dict = {}
    else:
        acc, stats, stopping = _run_to_precision(plan, cfg, progress, t0)
    elapsed = time.perf_counter() - t0
    stats["n_realizations"] = acc.n
    ds = results.to_dataset(plan, stats, OmegaConf.to_yaml(cfg, resolve=True))
    ds.attrs.update(stopping)
    ds.attrs["sampling_seconds"] = elapsed
    ds.attrs["realizations_per_second"] = float(acc.n.sum() / elapsed) if elapsed > 0 else 0.0
    return ds


def _run_to_precision(plan, cfg: DictConfig, progress: bool | None, t0: float) -> tuple:
    """The precision stopping rule: add one block to every draw until the MCSE target is met.

    Round 0 runs ``sampler.realizations`` rounded up to whole blocks; each later round runs the
    next block of every draw. The decision depends only on the accumulated results, and block b
    of draw d always uses the same random numbers, so the stopping point is reproducible for a
    given seed, on any number of threads or workers, unless ``sampler.max_seconds`` cuts it.
    """
    s = cfg.sampler
    target = float(s.target_mcse)
    scope = str(getattr(s.target_mcse_scope, "value", s.target_mcse_scope))
    bs = plan.settings.block_size
    max_blocks = max(1, int(s.max_realizations) // bs)
    blocks = min(max_blocks, -(-plan.settings.realizations // bs))
    total = plan.n_draws * max_blocks * bs
    with progress_bar(total, progress) as update, executors.session(cfg.executor) as runner:
        acc = runner(sampler.later_blocks(plan, 0, blocks), progress=update)
        while True:
            stats = sampler.summarise(plan, acc)
            worst = sampler.max_mcse(stats, scope)
            if worst <= target:
                reason = "target met"
                break
            if blocks >= max_blocks:
                reason = "sampler.max_realizations reached"
                break
            if s.max_seconds is not None and time.perf_counter() - t0 >= float(s.max_seconds):
                reason = "sampler.max_seconds reached"
                break
            acc.add(runner(sampler.later_blocks(plan, blocks, 1), progress=update))
            blocks += 1
    stopping = {
        "stopping_target_mcse": target,
        "stopping_scope": scope,
        "stopping_met": int(worst <= target),
        "stopping_reason": reason,
        "stopping_max_mcse": worst,
        "stopping_realizations_per_draw": int(blocks * bs),
    }
    return acc, stats, stopping


def run(cfg: DictConfig, out_dir: str | Path, progress: bool | None = None) -> xr.Dataset:
    """Simulate, add the analyses of ``cfg.analysis``, and write ``forecast.nc`` (atomically) and
    the reports (``report.html``, ``draws.parquet``, ``report.png``, ``summary.csv``, ...) into
    ``out_dir``."""
    from forecast.analysis import sensitivity as analysis
    from forecast.results import report

    analysis.check(cfg)  # bad analysis options fail before any work, with nothing written
    ds = simulate(cfg, progress=progress, validated=True)
    ds = analysis.analyse(ds, cfg, progress=progress)
    conventions.forecast_attributes(ds)  # CF long_name and units for the analyses' variables too
    storage.write_atomic(ds, Path(out_dir) / cfg.output.filename)
    report.write_reports(ds, out_dir, cfg.analysis)
    return ds


def describe(ds: xr.Dataset, cfg: DictConfig) -> str:
    """What the console prints after a run: size and speed, stopping rule, the summary table."""
    out: list[str] = []
    out.append(
        f"scenario {cfg.scenario.name}: {ds.attrs['draws']} draws x "
        f"{ds.attrs['realizations']} crises, {ds.attrs['realizations_per_second']:.3g} crises/s"
    )
    if "stopping_reason" in ds.attrs:
        out.append(
            f"precision rule: {ds.attrs['stopping_reason']} after "
            f"{ds.attrs['stopping_realizations_per_draw']} crises per draw; largest "
            f"{ds.attrs['stopping_scope']} MCSE {ds.attrs['stopping_max_mcse']:.2g} "
            f"(target {ds.attrs['stopping_target_mcse']:.2g})"
        )
    if "deterrence_dyad" in ds.attrs:
        p = ds["p_initiation"].to_numpy()
        out.append(
            f"crisis rate from the initiation posterior: {ds.attrs['deterrence_dyad']} in "
            f"{ds.attrs['deterrence_year']} (pacts: {ds.attrs['deterrence_pacts']}), annual "
            f"P(dispute initiation) {p.mean():.3f} [{np.quantile(p, 0.05):.3f}, "
            f"{np.quantile(p, 0.95):.3f}]"
        )
    out.append(
        "mean and 90% interval across epistemic draws; SE: the mean's Monte Carlo error from the "
        "draws and the crises both (another seed moves it by about this); MCSE: the crises' "
        "part alone; if attacked: the probability once an attack is seen, each draw weighted by "
        "its P(attack)"
    )
    out.append(results.format_summary(results.summary_table(ds)))
    decided = results.decisive_words(ds, digits=3)
    if decided:
        out.append(decided)
    if "threshold_summary" in ds.attrs:
        out.append(ds.attrs["threshold_summary"])
    return "\n".join(out)
