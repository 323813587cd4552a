"""Elicited beliefs: experts' quantiles -> a linear pool -> the distribution the model draws from.

A belief may be given as one expert's quantiles ``{0.05: 0.4, 0.5: 0.75, 0.95: 0.93}`` or as
several experts' quantiles with weights (``experts: [{name, weight, quantiles}, ...]``). Each
expert's quantiles are fitted by PreliZ (:func:`preliz.match_quantiles`) to the belief's family
(Beta for willingness, log-normal for capabilities); several experts are pooled linearly
(a mixture of their fitted distributions, weights normalised to sum to 1) and the family is
fitted again to the pool's quantiles at every level any expert gave. The result is the pair of
parameters :class:`forecast.model.beliefs.Marginal` uses: Beta (a, b) or log-normal (mu, s).

PreliZ's quantile matching takes a sample or a distribution to match; an expert's quantiles are
handed over as the expert's piecewise-linear quantile function on a fine grid, whose empirical
quantiles at the elicited levels are exactly the expert's values.

:func:`problems` checks an elicited belief (used by :mod:`forecast.config.rules`); PreliZ is
imported only when a belief is fitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

#: Families and their support.
SUPPORT = {"beta": (0.0, 1.0), "lognormal": (0.0, np.inf)}
_GRID = 20001  # points of an expert's quantile function handed to PreliZ


@dataclass(frozen=True)
class Fit:
    """A fitted belief: ``family``, its parameters and the largest quantile error."""

    family: str
    a: float  # Beta alpha, or log-normal mu
    b: float  # Beta beta, or log-normal sigma
    max_error: float


def is_elicited(belief: Any) -> bool:
    return bool(getattr(belief, "quantiles", None)) or bool(getattr(belief, "experts", None))


def experts_of(belief: Any) -> list[tuple[str, float, dict[float, float]]]:
    """(name, weight, {level: value}) of each expert; a lone ``quantiles`` is one expert."""
    if getattr(belief, "quantiles", None):
        return [("expert", 1.0, {float(k): float(v) for k, v in belief.quantiles.items()})]
    return [
        (
            str(getattr(e, "name", "") or f"expert {i + 1}"),
            float(getattr(e, "weight", 1.0)),
            {float(k): float(v) for k, v in e.quantiles.items()},
        )
        for i, e in enumerate(belief.experts)
    ]


def problems(path: str, belief: Any, family: str) -> list[str]:
    """Every problem of an elicited belief at config ``path``."""
    from omegaconf import DictConfig, OmegaConf

    out = []
    if getattr(belief, "quantiles", None) and getattr(belief, "experts", None):
        out.append(f"{path}: give either quantiles or experts, not both")
    if isinstance(belief, DictConfig) and not OmegaConf.is_missing(belief, "mean"):
        # a mean would be silently ignored (a sweep over it would change nothing)
        out.append(
            f"{path}: give either a mean or elicited quantiles/experts, got mean {belief.mean}"
        )
    lo, hi = SUPPORT[family]
    experts = experts_of(belief)
    if not experts:
        out.append(f"{path}.experts: at least one expert is needed")
    for i, (_, weight, q) in enumerate(experts):
        where = (
            f"{path}.quantiles" if getattr(belief, "quantiles", None) else f"{path}.experts[{i}]"
        )
        if not weight > 0:
            out.append(f"{where}.weight must be > 0, got {weight}")
        levels = np.array(sorted(q), dtype=float)
        values = np.array([q[k] for k in sorted(q)], dtype=float)
        if len(levels) < 2:
            out.append(f"{where}: at least two quantiles are needed, got {len(levels)}")
        if np.any((levels <= 0) | (levels >= 1)):
            out.append(f"{where}: quantile levels must lie in (0, 1), got {levels.tolist()}")
        if np.any((values <= lo) | (values >= hi)):
            out.append(f"{where}: values must lie in ({lo:g}, {hi:g}), got {values.tolist()}")
        if np.any(np.diff(values) <= 0):
            out.append(f"{where}: values must increase with the level, got {dict(q)}")
    return out


def _preliz(family: str):
    import preliz as pz

    return pz.Beta() if family == "beta" else pz.LogNormal()


def _params(dist, family: str) -> tuple[float, float]:
    if family == "beta":
        return float(dist.alpha), float(dist.beta)
    return float(dist.mu), float(dist.sigma)


def expert_sample(q: dict[float, float], family: str) -> np.ndarray:
    """The expert's piecewise-linear quantile function on a fine grid, (_GRID,).

    Between elicited levels it interpolates linearly; beyond them it runs to the support's end
    (Beta) or extends the outermost slope (log-normal, on the log scale).
    """
    levels = np.array(sorted(q))
    values = np.array([q[k] for k in levels])
    u = np.linspace(0.0, 1.0, _GRID)
    if family == "beta":
        xs, ys = np.r_[0.0, levels, 1.0], np.r_[0.0, values, 1.0]
        return np.interp(u, xs, ys)
    logs = np.log(values)
    slope_lo = (logs[1] - logs[0]) / (levels[1] - levels[0])
    slope_hi = (logs[-1] - logs[-2]) / (levels[-1] - levels[-2])
    xs = np.r_[0.0, levels, 1.0]
    ys = np.r_[logs[0] - slope_lo * levels[0], logs, logs[-1] + slope_hi * (1 - levels[-1])]
    return np.exp(np.interp(u, xs, ys))


def _match(source, levels: list[float], family: str):
    import warnings

    dist = _preliz(family)
    with warnings.catch_warnings():  # PreliZ warns when a family cannot match; we report it
        warnings.simplefilter("ignore")
        import preliz as pz

        pz.match_quantiles(source, dist, quantiles=levels, plot=False)
    return dist


def fit_expert(q: dict[float, float], family: str):
    """The PreliZ distribution of ``family`` fitted to one expert's quantiles."""
    return _match(expert_sample(q, family), sorted(q), family)


def pool(belief: Any, family: str):
    """(fitted PreliZ distribution of each expert, their normalised weights, the pool)."""
    import preliz as pz

    experts = experts_of(belief)
    fitted = [fit_expert(q, family) for _, _, q in experts]
    w = np.array([weight for _, weight, _ in experts])
    w = w / w.sum()
    mixture = fitted[0] if len(fitted) == 1 else pz.Mixture(fitted, weights=list(w))
    return fitted, w, mixture


def pooled_quantiles(belief: Any, family: str, levels: list[float]) -> np.ndarray:
    """The linear pool's quantiles at ``levels`` (the mixture of the experts' fitted CDFs)."""
    _, _, mixture = pool(belief, family)
    return np.asarray(mixture.ppf(np.asarray(levels)), float)


def _key(belief: Any) -> tuple:
    return tuple((n, w, tuple(sorted(q.items()))) for n, w, q in experts_of(belief))


def fit(belief: Any, family: str) -> Fit:
    """Fit ``family`` to an elicited belief (one expert, or the linear pool of several)."""
    return _fit_cached(_key(belief), family)


@lru_cache(maxsize=256)
def _fit_cached(key: tuple, family: str) -> Fit:
    experts = [(n, w, dict(q)) for n, w, q in key]
    levels = sorted({lv for _, _, q in experts for lv in q})

    if len(experts) == 1:
        dist = fit_expert(experts[0][2], family)
        target = np.array([experts[0][2][lv] for lv in levels])
    else:
        _, _, mixture = pool(_Experts(experts), family)
        dist = _match(mixture, levels, family)
        target = np.asarray(mixture.ppf(np.asarray(levels)), float)
    err = float(np.max(np.abs(np.asarray(dist.ppf(np.asarray(levels)), float) - target)))
    return Fit(family, *_params(dist, family), max_error=err)


@dataclass
class _Expert:
    name: str
    weight: float
    quantiles: dict


class _Experts:
    """Experts in the shape of a config node (``experts`` list, no ``quantiles``)."""

    quantiles = None

    def __init__(self, experts: list[tuple[str, float, dict]]) -> None:
        self.experts = [_Expert(n, w, q) for n, w, q in experts]
