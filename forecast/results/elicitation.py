"""The elicitation plot: each expert's quantiles and fitted density, their linear pool, and the
belief fitted to the pool (the distribution the model draws from)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from forecast import storage
from forecast.config import elicitation


def quantile_table(belief: Any, family: str) -> list[dict]:
    """Rows (level, each expert's value, pool, fitted belief) at every elicited level."""
    from scipy import stats

    experts = elicitation.experts_of(belief)
    levels = sorted({lv for _, _, q in experts for lv in q})
    pooled = elicitation.pooled_quantiles(belief, family, levels)
    fit = elicitation.fit(belief, family)
    if family == "beta":
        fitted = stats.beta.ppf(levels, fit.a, fit.b)
    else:
        fitted = stats.lognorm.ppf(levels, fit.b, scale=np.exp(fit.a))
    return [
        {"level": lv, **{name: q.get(lv, np.nan) for name, _, q in experts}, "pool": p, "fit": f}
        for lv, p, f in zip(levels, pooled, fitted, strict=True)
    ]


def plot(belief: Any, family: str, path: str | Path, title: str = "") -> Path:
    """Write the PNG: densities of each fitted expert (dashed), the pool and the fitted belief,
    with each expert's elicited quantiles as ticks on the axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import stats

    fitted, weights, mixture = elicitation.pool(belief, family)
    fit = elicitation.fit(belief, family)
    if family == "beta":
        x = np.linspace(0.001, 0.999, 500)
        final = stats.beta.pdf(x, fit.a, fit.b)
    else:
        hi = float(np.max([max(q.values()) for _, _, q in elicitation.experts_of(belief)])) * 1.6
        x = np.linspace(hi / 500, hi, 500)
        final = stats.lognorm.pdf(x, fit.b, scale=np.exp(fit.a))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    experts = elicitation.experts_of(belief)
    for (name, _, q), dist, w, color in zip(
        experts, fitted, weights, plt.cm.tab10.colors, strict=False
    ):
        ax.plot(x, dist.pdf(x), ls="--", color=color, label=f"{name} (weight {w:.2f})")
        ax.plot(list(q.values()), np.zeros(len(q)), "|", ms=14, mew=2, color=color)
    if len(experts) > 1:
        ax.plot(x, mixture.pdf(x), color="black", lw=1.5, label="linear pool")
    ax.plot(x, final, color="crimson", lw=2.5, alpha=0.8, label=f"fitted {family}")
    ax.set_xlabel("value")
    ax.set_ylabel("density")
    ax.set_title(title or "elicited belief")
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        return storage.replace_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    finally:
        plt.close(fig)
