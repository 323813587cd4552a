"""Threshold analysis: where a belief must lie for a forecast probability to reach a target.

:func:`first_crossing` and :func:`draw_quantiles` are numpy primitives; :func:`threshold_search`
re-runs the sampler with the parameter held at values on a grid, then bisects, all on the run's
seed (common random numbers); :func:`threshold_dataset` is its xarray wrapper.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from forecast.analysis import runs
from forecast.model import beliefs

THRESHOLD_VALUE = "threshold_value"


def first_crossing(values: np.ndarray, curves: np.ndarray, target: float) -> np.ndarray:
    """Smallest value at which each curve reaches ``target``, by linear interpolation.

    Parameters
    ----------
    values : (E,) array, increasing
    curves : (E, ...) array
        Curves evaluated at ``values``.

    Returns
    -------
    (...) array
        ``values[0]`` where a curve starts at or above the target, ``+inf`` where it never
        reaches it, else the interpolated crossing in the first cell where it does.
    """
    curves = np.asarray(curves, dtype=float)
    reached = curves >= target
    first = np.argmax(reached, axis=0)  # 0 when reached at the start or never
    never = ~reached.any(axis=0)
    hi = np.maximum(first, 1)
    v0, v1 = values[hi - 1], values[hi]
    c0 = np.take_along_axis(curves, (hi - 1)[None], axis=0)[0]
    c1 = np.take_along_axis(curves, hi[None], axis=0)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip((target - c0) / (c1 - c0), 0.0, 1.0)
    out = np.where(first == 0, values[0], v0 + t * (v1 - v0))
    return np.where(never, np.inf, out)


def draw_quantiles(x: np.ndarray, q: list[float]) -> np.ndarray:
    """Quantiles of values that may be +-inf (beyond a searched range); no interpolation, so an
    infinite value is never mixed with a finite one."""
    return np.quantile(np.asarray(x, float), q, method="inverted_cdf")


def threshold_range(p: beliefs.Parameter, given: Any) -> tuple[float, float]:
    """The range searched: ``given``, else (0.001, 0.999) for a probability, else the belief's
    0.1%-99.9% quantiles."""
    if given is not None:
        lo, hi = (float(v) for v in given)
        return lo, hi
    if runs.support(p) == (0.0, 1.0):
        return 0.001, 0.999
    lo, hi = (float(v) for v in p.ppf(np.array([0.001, 0.999])))
    return lo, hi


def threshold_search(
    cfg: Any, progress: bool | None = False, runner: runs.Runner | None = None
) -> dict[str, Any]:
    """Where the mean over draws of ``analysis.threshold.quantity`` reaches its target.

    The parameter is held at a value in every draw (the others keep their draws) on a coarse
    grid over the range, then bisection refines the first grid cell where the mean curve reaches
    the target. All evaluations share the run's random numbers, so the curve is smooth in the
    value. When the mean curve falls with the value, the answer is the largest value at which
    the target still holds (``direction`` "at most").

    Returns
    -------
    dict
        ``values`` (E,) evaluated values, increasing; ``curve``, ``mcse_curve`` (E,) the mean and
        its MCSE there; ``curve_draws`` (E, D) per draw; ``threshold``, ``mcse``, ``se_draws``
        (scalars: NaN when unreachable); ``draws`` (D,) per-draw thresholds (+-inf beyond the
        range); ``direction``, ``status`` and ``message`` (str).
    """
    t = cfg.analysis.threshold
    model = beliefs.build_model(cfg)
    p = runs.find_parameter(model, str(t.parameter))
    lo, hi = threshold_range(p, t.range)
    target, quantity = float(t.target), str(t.quantity)
    evaluated: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def at(v: float) -> float:
        evaluated[v] = runs.evaluate(cfg, quantity, fixed={p.name: v}, runner=runner)
        bar.update()
        return float(evaluated[v][0].mean())

    with runs.progress_bar(int(t.grid) + int(t.iterations), progress, "threshold") as bar:
        grid = np.linspace(lo, hi, int(t.grid))
        m = np.array([at(float(v)) for v in grid])
        # a falling curve is searched mirrored: the largest value at which the target holds
        sign = 1.0 if m[-1] >= m[0] else -1.0
        order = slice(None) if sign > 0 else slice(None, None, -1)
        g, mm = grid[order], m[order]
        reached = mm >= target
        status = "found"
        if not reached.any():
            status = "unreachable"
        elif reached[0]:
            status = "at range end"
        else:
            i = int(np.argmax(reached))
            a, b = float(g[i - 1]), float(g[i])
            for _ in range(int(t.iterations)):
                mid = 0.5 * (a + b)
                if at(mid) >= target:
                    b = mid
                else:
                    a = mid
    values = np.array(sorted(evaluated))
    curves = np.stack([evaluated[v][0] for v in values])  # (E, D)
    ses = np.stack([evaluated[v][1] for v in values])
    curve = curves.mean(axis=1)
    mcse_curve = np.sqrt((ses**2).sum(axis=1)) / curves.shape[1]
    vs, cs = (values, curves) if sign > 0 else (-values[::-1], curves[::-1])
    per_draw = sign * first_crossing(vs, cs, target)
    out: dict[str, Any] = {
        "values": values,
        "curve": curve,
        "mcse_curve": mcse_curve,
        "curve_draws": curves,
        "draws": per_draw,
        "direction": "at least" if sign > 0 else "at most",
        "status": status,
        "parameter": p.name,
        "path": p.path,
        "range": (lo, hi),
    }
    thr = float(sign * first_crossing(vs, (cs.mean(axis=1)), target))
    mcse = se_draws = math.nan
    if status == "found":
        # error propagation through the slope of the coarse grid cell that holds the crossing
        i = int(np.clip(np.searchsorted(grid, thr), 1, len(grid) - 1))
        slope = abs(m[i] - m[i - 1]) / (grid[i] - grid[i - 1])
        k = int(np.argmin(np.abs(values - thr)))
        mcse = float(mcse_curve[k] / slope) if slope > 0 else math.inf
        # the mean over a finite number of epistemic draws is itself an estimate
        se_draws = float(curves[k].std(ddof=1) / math.sqrt(curves.shape[1]) / slope)
    else:
        thr = math.nan
    out.update(threshold=thr, mcse=mcse, se_draws=se_draws)
    out["message"] = threshold_message(out, quantity, target, float(t.level))
    return out


def threshold_message(res: dict[str, Any], quantity: str, target: float, level: float) -> str:
    """One line a user reads: the threshold, its interval across draws and its MCSE."""
    name, (lo, hi) = res["parameter"], res["range"]
    cmp = ">=" if res["direction"] == "at least" else "<="
    if res["status"] == "unreachable":
        k = int(np.argmax(res["curve"]))
        return (
            f"{quantity} never reaches {target:g} for {name} in [{lo:.4g}, {hi:.4g}] "
            f"(analysis.threshold.range): its mean over draws is at most {res['curve'][k]:.3f}, "
            f"at {name} = {res['values'][k]:.4g}"
        )
    if res["status"] == "at range end":
        end = lo if res["direction"] == "at least" else hi
        return (
            f"{quantity} already reaches {target:g} at {name} = {end:.4g}, the end of the range "
            f"[{lo:.4g}, {hi:.4g}] (analysis.threshold.range)"
        )
    q = draw_quantiles(res["draws"], [(1 - level) / 2, (1 + level) / 2])
    iv = ", ".join(
        f"{'<' if v < lo else '>' if v > hi else ''}{min(max(v, lo), hi):.4g}" for v in q
    )
    return (
        f"mean {quantity} >= {target:g} needs {name} {cmp} {res['threshold']:.4g} "
        f"(MCSE {res['mcse']:.2g}, epistemic-draw error {res['se_draws']:.2g}); "
        f"per-draw thresholds, {level:.0%} interval: [{iv}]"
    )


def threshold_dataset(res: dict[str, Any], cfg: Any) -> xr.Dataset:
    t = cfg.analysis.threshold
    level = float(t.level)
    finite = np.isfinite(res["draws"]).all()
    attrs = {
        "parameter": res["parameter"],
        "path": res["path"],
        "quantity": str(t.quantity),
        "target": float(t.target),
        "direction": res["direction"],
        "status": res["status"],
        "range_low": res["range"][0],
        "range_high": res["range"][1],
        "message": res["message"],
    }
    qs = [(1 - level) / 2, 0.5, (1 + level) / 2]
    V = THRESHOLD_VALUE
    return xr.Dataset(
        {
            "threshold": ((), res["threshold"], attrs),
            "mcse_threshold": ((), res["mcse"]),
            "threshold_se_draws": ((), res["se_draws"]),
            "threshold_draw": ("draw", res["draws"], {"all_in_range": int(finite)}),
            "threshold_quantile": (
                "threshold_q",
                draw_quantiles(res["draws"], qs),
                {"level": level, "description": "quantiles of the per-draw thresholds"},
            ),
            "threshold_curve": (V, res["curve"]),
            "mcse_threshold_curve": (V, res["mcse_curve"]),
            "threshold_curve_draw": ((V, "draw"), res["curve_draws"]),
        },
        coords={V: res["values"], "threshold_q": qs},
    )
