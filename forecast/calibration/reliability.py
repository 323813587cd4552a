"""CORP reliability diagrams (Dimitriadis, Gneiting & Jordan 2021, PNAS 118(8) e2016191118).

CORP: Consistent, Optimally binned, Reproducible, PAV-based. The recalibrated probability of a
forecast is the isotonic (pool-adjacent-violators) regression of the outcomes on the forecasts:
no bins to choose. The Brier score then decomposes exactly as

    Brier = MCB - DSC + UNC

MCB (miscalibration) = Brier(p) - Brier(PAV(p)); DSC (discrimination) = Brier(base rate) -
Brier(PAV(p)); UNC (uncertainty) = Brier(base rate). Consistency bands: the 5-95% range of the
PAV curve when outcomes are redrawn from the forecasts themselves (a calibrated forecast).

scoringrules has no reliability diagram; the PAV fit is :func:`scipy.optimize.isotonic_regression`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import isotonic_regression


def pav(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted forecasts (n,) and their PAV-recalibrated probabilities (n,).

    Ties in ``p`` are pooled first (CORP treats equal forecasts as one), so the result does not
    depend on the order of tied cases.
    """
    p = np.asarray(p, float)
    y = np.asarray(y, float)
    values, inverse, counts = np.unique(p, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=y) / counts
    fitted = isotonic_regression(means, weights=counts.astype(float)).x
    return values, fitted


def corp(
    p: np.ndarray, y: np.ndarray, n_resamples: int = 1000, seed: int = 0, level: float = 0.9
) -> dict:
    """CORP curve, Brier decomposition and consistency band of forecasts ``p`` (n,) for 0/1
    outcomes ``y`` (n,).

    Returns
    -------
    dict
        ``x`` (m,) distinct forecasts, ``pav`` (m,) recalibrated probabilities, ``lower`` /
        ``upper`` (m,) the consistency band, and ``brier``, ``mcb``, ``dsc``, ``unc``.
    """
    p = np.asarray(p, float)
    y = np.asarray(y, float)
    x, fitted = pav(p, y)
    _, inverse = np.unique(p, return_inverse=True)
    recal = fitted[inverse]
    base = y.mean()
    brier = float(np.mean((p - y) ** 2))
    brier_pav = float(np.mean((recal - y) ** 2))
    unc = float(np.mean((base - y) ** 2))
    rng = np.random.default_rng(seed)
    sims = np.empty((n_resamples, len(x)))
    for r in range(n_resamples):
        sims[r] = pav(p, (rng.random(len(p)) < p).astype(float))[1]
    alpha = (1.0 - level) / 2.0
    lower, upper = np.quantile(sims, [alpha, 1.0 - alpha], axis=0)
    return {
        "x": x,
        "pav": fitted,
        "lower": lower,
        "upper": upper,
        "brier": brier,
        "mcb": brier - brier_pav,
        "dsc": unc - brier_pav,
        "unc": unc,
    }


def plot_corp(curves: dict[str, dict], path: str | Path, provenance: dict | None = None) -> Path:
    """CORP reliability diagram, one panel per predictor, written as a PNG.

    ``curves`` maps a label to :func:`corp`'s result; ``provenance`` (str -> str) goes into the
    PNG's text chunks.
    """
    import matplotlib

    matplotlib.use("Agg")
    import textwrap

    import matplotlib.pyplot as plt

    from forecast.storage import replace_atomically

    n = len(curves)
    ncols = min(n, 2)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.6 * ncols, 3.5 * nrows), squeeze=False, sharey=True
    )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for ax, (name, c) in zip(axes.ravel(), curves.items(), strict=False):
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        ax.fill_between(c["x"], c["lower"], c["upper"], step="post", color="C0", alpha=0.2,
                        label="90% consistency band")  # fmt: skip
        ax.step(c["x"], c["pav"], where="post", color="C1", lw=1.6, label="CORP (PAV)")
        ax.plot(c["x"], np.full(len(c["x"]), -0.03), "|", color="k", ms=5, alpha=0.5)
        ax.set_title(textwrap.fill(name, 44), fontsize=8)
        ax.text(
            0.02,
            0.97,
            f"Brier {c['brier']:.3f}\nMCB {c['mcb']:.3f}\nDSC {c['dsc']:.3f}\nUNC {c['unc']:.3f}",
            va="top",
            fontsize=7,
            family="monospace",
            transform=ax.transAxes,
        )
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.05, 1.0)
        ax.set_xlabel("forecast P(honour), out of sample", fontsize=8)
    for row in axes:
        row[0].set_ylabel("recalibrated P(honour)", fontsize=8)
    axes[0][-1].legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    meta = {"Software": "forecast-calibrate"} | {
        k: str(v) for k, v in (provenance or {}).items() if k != "config_yaml"
    }
    try:
        return replace_atomically(
            path, lambda tmp: fig.savefig(tmp, format="png", dpi=90, metadata=meta)
        )
    finally:
        plt.close(fig)
