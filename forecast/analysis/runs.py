"""The sampler on modified plans, for the sensitivity and threshold analyses.

Every plan shares the run's seed, so all of them use the same realization random numbers
(common random numbers): differences between points are not Monte Carlo noise. Also the lookup of
a belief parameter by name or config path, and its domain.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from forecast.model import beliefs
from forecast.sampling import executors, sampler


def find_parameter(model: beliefs.Model, spec: str) -> beliefs.Parameter:
    """The belief parameter named ``spec`` (``willingness[USA]``) or at config path ``spec``."""
    for p in model.parameters:
        if spec in (p.name, p.path):
            return p
    raise KeyError(spec)


def support(p: beliefs.Parameter) -> tuple[float, float]:
    """The domain of a belief, from the kind of its marginal (a fixed belief has no kind, so
    its config node tells: a willingness is a probability)."""
    kind = getattr(p.ppf, "kind", None)
    if kind == "beta" or p.path.endswith(".willingness"):
        return 0.0, 1.0
    if kind == "lognormal":
        return 0.0, math.inf
    return -math.inf, math.inf


def progress_bar(total: int, enabled: bool | None, desc: str):
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else bool(enabled)
    return tqdm(total=total, disable=not show, file=sys.stderr, desc=desc, unit=" runs")


Runner = Callable[[sampler.Plan], sampler.Accumulators]


def session(cfg: Any) -> Any:
    """A ``with`` block whose runner runs plans on ``cfg.executor``; a Dask cluster is started
    (or joined) once for all the analysis's plans (:func:`forecast.sampling.executors.session`)."""
    return executors.session(cfg.executor)


def evaluate(
    cfg: Any,
    quantity: str,
    uniforms: np.ndarray | None = None,
    fixed: dict[str, float] | None = None,
    runner: Runner | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw ``quantity`` (D,) and its MCSE (D,) under ``make_plan(cfg, uniforms, fixed)``."""
    plan = sampler.make_plan(cfg, uniforms=uniforms, fixed=fixed)
    acc = runner(plan) if runner is not None else executors.run(plan, cfg.executor)
    stats = sampler.summarise(plan, acc)
    mcse = stats.get(f"mcse_{quantity}", np.zeros_like(stats[quantity]))
    return np.asarray(stats[quantity], float), np.asarray(mcse, float)


def mean_and_mcse(q: np.ndarray, se: np.ndarray) -> tuple[float, float]:
    return float(q.mean()), float(np.sqrt((se**2).sum()) / q.size)
