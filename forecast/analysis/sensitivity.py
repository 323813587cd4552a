"""Sensitivity analysis of a forecast: which belief moves P(deterrence), and how far.

Three layers, as in the rest of the package:

- numpy primitives that know nothing about the model: :func:`first_order_indices` (a given-data
  estimator of Var(E[Y | X_j]) / Var(Y), valid for correlated inputs), :func:`bootstrap_se`;
- a runner that re-runs the sampler on modified plans, :func:`tornado` (see
  :mod:`forecast.analysis.runs`: every plan shares the run's seed, so differences between points
  are not Monte Carlo noise); the threshold search is in :mod:`forecast.analysis.threshold`;
- :func:`analyse`, the thin xarray wrapper that adds the results to a forecast Dataset, and
  :func:`validate`, the one table of rules for the ``analysis`` config node.

The threshold and runner functions are importable from here too, as before the split.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from forecast.analysis import runs, threshold
from forecast.analysis.runs import Runner, evaluate, find_parameter, session
from forecast.analysis.threshold import (
    THRESHOLD_VALUE,
    draw_quantiles,
    first_crossing,
    threshold_message,
    threshold_range,
    threshold_search,
)
from forecast.config import ConfigError
from forecast.model import beliefs, streams
from forecast.sampling import sampler

__all__ = [
    "THRESHOLD_VALUE",
    "Runner",
    "analyse",
    "bootstrap_se",
    "check",
    "default_bins",
    "draw_quantiles",
    "evaluate",
    "find_parameter",
    "first_crossing",
    "first_order_indices",
    "session",
    "threshold_message",
    "threshold_range",
    "threshold_search",
    "tornado",
    "validate",
]

PARAMETER = "parameter"

# ----------------------------------------------------------------------------------------------
# numpy primitives
# ----------------------------------------------------------------------------------------------


def default_bins(n: int) -> int:
    """Bins of the partition estimator for ``n`` samples: about sqrt(n), at least 2 per bin."""
    return int(max(2, min(n // 2, round(math.sqrt(n)))))


def first_order_indices(
    x: np.ndarray, y: np.ndarray, bins: int | None = None, noise_var: float = 0.0
) -> np.ndarray:
    """First-order variance-based indices S_j = Var(E[Y | X_j]) / Var(Y), from given data.

    A partition (binning) estimator in the manner of Plischke (2010) and Li & Mahadevan (2016):
    the draws are split into ``bins`` equiprobable classes by the rank of X_j, and the variance of
    the class means of Y estimates Var(E[Y | X_j]). It needs no sampling design, so it stays valid
    when the inputs are correlated (the indices then need not sum to at most 1). The between-class
    variance is corrected for its finite-sample bias (the ANOVA correction (M - 1) / n times the
    pooled within-class variance).

    Parameters
    ----------
    x : (n, k) array
        Inputs, one column per parameter.
    y : (n,) array
        Output for each row of ``x``.
    bins : int, optional
        Number of classes M; default :func:`default_bins`.
    noise_var : float
        Variance of independent noise in ``y`` that is not part of the quantity of interest (for a
        Monte Carlo estimate, the mean squared MCSE); it is removed from Var(Y).

    Returns
    -------
    (k,) array
        The indices; NaN for a constant column or when Var(Y) is not positive.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = x.shape
    m = default_bins(n) if bins is None else int(bins)
    # class of each rank: ranks 0..n-1 split into m classes of (almost) equal size
    cls = (np.arange(n) * m) // n
    counts = np.bincount(cls, minlength=m).astype(float)
    starts = np.searchsorted(cls, np.arange(m))
    ys = y[np.argsort(x, axis=0, kind="stable")]  # (n, k): y sorted by each column of x
    means = np.add.reduceat(ys, starts, axis=0) / counts[:, None]  # (m, k)
    between = (counts[:, None] * (means - y.mean()) ** 2).sum(axis=0) / n
    within = ((ys - means[cls]) ** 2).sum(axis=0) / (n - m)
    var_y = y.var(ddof=1) - noise_var
    s = (between - (m - 1) / n * within) / var_y if var_y > 0 else np.full(k, np.nan)
    s = np.where(np.ptp(x, axis=0) > 0, s, np.nan)
    return s


def bootstrap_se(
    x: np.ndarray,
    y: np.ndarray,
    resamples: int,
    seed: int,
    bins: int | None = None,
    noise_var: float = 0.0,
) -> np.ndarray:
    """Bootstrap standard errors (k,) of :func:`first_order_indices`; NaN if ``resamples`` < 2."""
    k = np.shape(x)[1]
    if resamples < 2:
        return np.full(k, np.nan)
    key = [int(seed), streams.SENSITIVITY_BOOTSTRAP]
    rng = np.random.Generator(np.random.SFC64(np.random.SeedSequence(key)))
    n = len(y)
    reps = np.empty((resamples, k))
    for r in range(resamples):
        i = rng.integers(0, n, n)
        reps[r] = first_order_indices(x[i], y[i], bins=bins, noise_var=noise_var)
    return reps.std(axis=0, ddof=1)


# ----------------------------------------------------------------------------------------------
# Validation: one table of rules for the analysis node
# ----------------------------------------------------------------------------------------------


def validate(cfg: Any) -> list[str]:
    """Problems of the ``analysis`` node, each with its config path and the value it got."""
    a = cfg.analysis
    problems: list[str] = []
    q = list(a.tornado_quantiles)
    if len(q) != 2 or not all(0 < float(v) < 1 for v in q) or not float(q[0]) < float(q[1]):
        problems.append(
            f"analysis.tornado_quantiles must be two ordered probabilities [low, high] in (0, 1), "
            f"got {q}"
        )
    if int(a.tornado_replicates) < 1:
        problems.append(f"analysis.tornado_replicates must be >= 1, got {a.tornado_replicates}")
    draws = int(cfg.sampler.draws)
    if a.sensitivity_bins is not None and not 2 <= int(a.sensitivity_bins) <= draws // 2:
        problems.append(
            f"analysis.sensitivity_bins must lie in [2, sampler.draws / 2 = {draws // 2}] "
            f"(at least two draws a bin), got {a.sensitivity_bins}"
        )
    if a.sensitivity and draws < 4:
        problems.append(f"analysis.sensitivity needs sampler.draws >= 4, got {draws}")
    if int(a.sensitivity_bootstrap) < 0:
        problems.append(
            f"analysis.sensitivity_bootstrap must be >= 0, got {a.sensitivity_bootstrap}"
        )
    t = a.threshold
    if t.parameter is None:
        return problems
    if not 0 < float(t.target) < 1:
        problems.append(f"analysis.threshold.target must lie in (0, 1), got {t.target}")
    if int(t.grid) < 2:
        problems.append(f"analysis.threshold.grid must be >= 2, got {t.grid}")
    if int(t.iterations) < 0:
        problems.append(f"analysis.threshold.iterations must be >= 0, got {t.iterations}")
    if not 0 < float(t.level) < 1:
        problems.append(f"analysis.threshold.level must lie in (0, 1), got {t.level}")
    if t.range is not None and (len(t.range) != 2 or not float(t.range[0]) < float(t.range[1])):
        problems.append(f"analysis.threshold.range must be [low, high], low < high, got {t.range}")
        return problems
    if beliefs.validate(cfg):
        return problems  # the scenario's own problems are reported by beliefs.validate
    model = beliefs.build_model(cfg)
    try:
        p = runs.find_parameter(model, str(t.parameter))
    except KeyError:
        known = ", ".join(f"{p.path} ({p.name})" for p in model.parameters)
        problems.append(
            f"analysis.threshold.parameter must name a belief parameter by config path or name, "
            f"got '{t.parameter}' (known: {known})"
        )
        return problems
    if t.range is None and p.fixed and runs.support(p) != (0.0, 1.0):
        problems.append(
            f"analysis.threshold.range must be given for '{t.parameter}': the belief has no "
            "spread, so its quantiles give no range"
        )
        return problems
    lo, hi = threshold.threshold_range(p, t.range)
    s_lo, s_hi = runs.support(p)
    if not (s_lo <= lo and hi <= s_hi) or (s_lo == 0.0 and lo <= 0) or (s_hi == 1.0 and hi >= 1):
        problems.append(
            f"analysis.threshold.range must lie inside the support of {p.name} "
            f"({s_lo:g}, {s_hi:g}), got {[lo, hi]}"
        )
    return problems


def check(cfg: Any) -> None:
    """Raise :class:`ConfigError` listing every problem of the scenario and the analysis node."""
    problems = beliefs.validate(cfg) + validate(cfg)
    if problems:
        raise ConfigError(problems)


def _check_quantity(ds: xr.Dataset, path: str, quantity: str) -> None:
    ok = [str(v) for v in ds.data_vars if str(v).startswith("p_") and ds[v].dims == ("draw",)]
    if quantity not in ok:
        raise ConfigError(
            [f"{path} must name a per-draw probability of the forecast ({ok}), got '{quantity}'"]
        )


# ----------------------------------------------------------------------------------------------
# The tornado: the sampler on modified plans, all on the run's seed (common random numbers)
# ----------------------------------------------------------------------------------------------


def _paired_se(q: np.ndarray, q_base: np.ndarray, se: np.ndarray, se_base: np.ndarray) -> float:
    """Monte Carlo error of mean(q) - mean(q_base) over rows that share random numbers.

    The rows are independent replicates, so the spread of the paired differences measures the
    error of their mean, with the credit that common random numbers earn. One row gives no
    spread: fall back to independent errors.
    """
    if q.size < 2:
        return float(
            np.sqrt(runs.mean_and_mcse(q, se)[1] ** 2 + runs.mean_and_mcse(q_base, se_base)[1] ** 2)
        )
    return float((q - q_base).std(ddof=1) / np.sqrt(q.size))


def tornado(
    cfg: Any,
    quantity: str = "p_deterrence",
    quantiles: tuple[float, float] = (0.05, 0.95),
    replicates: int = 8,
    progress: bool | None = False,
    runner: runs.Runner | None = None,
) -> dict[str, Any]:
    """Each non-fixed belief moved to its low and high quantile, the others at their medians.

    Every point runs ``replicates`` rows of identical parameters (each ``sampler.realizations``
    crises); row r uses the same random numbers at every point (common random numbers).

    Returns
    -------
    dict
        ``names``, ``paths`` (J,); ``low``, ``high`` (J,) the mean ``quantity`` at each point,
        ``mcse_low``, ``mcse_high`` (J,) their Monte Carlo errors, ``mcse_low_diff``,
        ``mcse_high_diff`` (J,) the errors of their differences from the base (paired, so
        smaller); ``value_low``, ``value_high``, ``value_base`` (J,) the parameter's values;
        ``base``, ``mcse_base`` (scalars) with all beliefs at their medians.
    """
    model = beliefs.build_model(cfg)
    n_par = len(model.parameters)
    # Where the beliefs come from elsewhere (beliefs.source=calibrated: a posterior replaces the
    # config's willingness), the copula's uniforms do not move a parameter. Such parameters are
    # found by probing, and held at quantiles of the run's own draws instead (with `fixed`).
    own = sampler.make_plan(cfg).draws.values  # (D, n_par): the forecast's draws
    probe = sampler.make_plan(cfg, uniforms=np.full((2, n_par), 0.5)).draws.values
    median = np.array([float(p.ppf(np.array([0.5]))[0]) for p in model.parameters])
    elsewhere = ~np.isclose(probe, median).all(axis=0)
    cols = [
        j
        for j, p in enumerate(model.parameters)
        if (not p.fixed and not elsewhere[j]) or (elsewhere[j] and np.ptp(own[:, j]) > 0)
    ]

    def value(j: int, q: float) -> float:
        if elsewhere[j]:
            return float(np.quantile(own[:, j], q))
        return float(model.parameters[j].ppf(np.array([q]))[0])

    held = {model.parameters[j].name: value(j, 0.5) for j in np.flatnonzero(elsewhere)}
    keys = ("low", "high", "mcse_low", "mcse_high", "mcse_low_diff", "mcse_high_diff")
    out: dict[str, Any] = {k: [] for k in keys}
    with runs.progress_bar(1 + 2 * len(cols), progress, "tornado") as bar:
        u = np.full((replicates, n_par), 0.5)
        q0, se0 = runs.evaluate(cfg, quantity, uniforms=u, fixed=held, runner=runner)
        out["base"], out["mcse_base"] = runs.mean_and_mcse(q0, se0)
        bar.update()
        for j in cols:
            for side, qu in zip(("low", "high"), quantiles, strict=True):
                u = np.full((replicates, n_par), 0.5)
                u[:, j] = qu
                fixed = {**held, model.parameters[j].name: value(j, qu)} if elsewhere[j] else held
                q, se = runs.evaluate(cfg, quantity, uniforms=u, fixed=fixed, runner=runner)
                mean, mcse = runs.mean_and_mcse(q, se)
                out[side].append(mean)
                out[f"mcse_{side}"].append(mcse)
                out[f"mcse_{side}_diff"].append(_paired_se(q, q0, se, se0))
                bar.update()
    ps = [model.parameters[j] for j in cols]
    out = {k: np.asarray(v) if isinstance(v, list) else v for k, v in out.items()}
    out["names"] = [p.name for p in ps]
    out["paths"] = [p.path for p in ps]
    for key, qu in (("value_low", quantiles[0]), ("value_high", quantiles[1]), ("value_base", 0.5)):
        out[key] = np.array([value(j, qu) for j in cols])
    return out


# ----------------------------------------------------------------------------------------------
# xarray wrapper
# ----------------------------------------------------------------------------------------------


def analyse(ds: xr.Dataset, cfg: Any, progress: bool | None = False) -> xr.Dataset:
    """Add the analyses that ``cfg.analysis`` asks for to the forecast ``ds``; return a new one."""
    a = cfg.analysis
    out = ds.copy()
    if a.threshold.parameter is not None:
        _check_quantity(ds, "analysis.threshold.quantity", str(a.threshold.quantity))
    if not a.sensitivity and a.threshold.parameter is None:
        return out
    with runs.session(cfg) as runner:
        if a.sensitivity:
            out = out.merge(_sensitivity_dataset(ds, cfg, progress, runner))
        if a.threshold.parameter is not None:
            res = threshold.threshold_search(cfg, progress=progress, runner=runner)
            out = out.merge(threshold.threshold_dataset(res, cfg))
            out.attrs["threshold_summary"] = res["message"]
    return out


def _sensitivity_dataset(
    ds: xr.Dataset, cfg: Any, progress: bool | None, runner: runs.Runner
) -> xr.Dataset:
    a, quantity = cfg.analysis, "p_deterrence"
    q = (float(a.tornado_quantiles[0]), float(a.tornado_quantiles[1]))
    tor = tornado(cfg, quantity, q, int(a.tornado_replicates), progress, runner)
    plan = sampler.make_plan(cfg)  # the run's own draws: same seed, same parameters
    cols = [beliefs.parameter_index(plan.model, n) for n in tor["names"]]
    x = plan.draws.values[:, cols]
    y = ds[quantity].values
    noise = float(np.mean(ds[f"mcse_{quantity}"].values ** 2)) if f"mcse_{quantity}" in ds else 0.0
    bins = default_bins(len(y)) if a.sensitivity_bins is None else int(a.sensitivity_bins)
    s1 = first_order_indices(x, y, bins=bins, noise_var=noise)
    se = bootstrap_se(x, y, int(a.sensitivity_bootstrap), int(cfg.sampler.seed), bins, noise)
    P = PARAMETER
    pct = f"{q[0]:.0%} and {q[1]:.0%} quantiles"
    out = xr.Dataset(
        {
            "tornado_base": ((), tor["base"], {"description": f"{quantity}, all at medians"}),
            "mcse_tornado_base": ((), tor["mcse_base"]),
            "tornado_low": (P, tor["low"], {"description": f"{quantity}, belief at {q[0]:.0%}"}),
            "tornado_high": (P, tor["high"], {"description": f"{quantity}, belief at {q[1]:.0%}"}),
            "mcse_tornado_low": (P, tor["mcse_low"]),
            "mcse_tornado_high": (P, tor["mcse_high"]),
            "mcse_tornado_low_diff": (P, tor["mcse_low_diff"]),
            "mcse_tornado_high_diff": (P, tor["mcse_high_diff"]),
            "tornado_value_low": (P, tor["value_low"]),
            "tornado_value_high": (P, tor["value_high"]),
            "tornado_value_base": (P, tor["value_base"]),
            "sensitivity_first_order": (P, s1),
            "sensitivity_first_order_se": (P, se),
            "parameter_value": (("draw", P), x),
        },
        coords={P: tor["names"], "parameter_path": (P, tor["paths"])},
    )
    out["tornado_low"].attrs["quantile"] = q[0]
    out["tornado_high"].attrs["quantile"] = q[1]
    for v in ("tornado_low", "tornado_high", "tornado_base"):
        out[v].attrs.update(quantity=quantity, replicates=int(a.tornado_replicates))
    out["sensitivity_first_order"].attrs.update(
        description=f"first-order index Var(E[{quantity} | parameter]) / Var({quantity}) over "
        "the epistemic draws; given-data partition estimator, valid for correlated beliefs",
        bins=bins,
        quantity=quantity,
    )
    out["sensitivity_first_order_se"].attrs["description"] = (
        f"bootstrap standard error ({int(a.sensitivity_bootstrap)} resamples)"
    )
    out["parameter_value"].attrs["description"] = "the draw's value of each belief parameter"
    for side in ("low", "high"):
        out[f"mcse_tornado_{side}_diff"].attrs["description"] = (
            f"Monte Carlo error of tornado_{side} - tornado_base (common random numbers: paired "
            "replicates)"
        )
    out["tornado_value_low"].attrs["description"] = f"the parameter at its {pct}"
    return out
