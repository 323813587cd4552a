"""Scores of probability forecasts of binary events, and the backtest's reference forecasts.

Functions over numpy arrays only; the Brier and log scores are :mod:`scoringrules`' (lower is
better for both: the log score is the negative log of the probability given to what happened).

A forecast of exactly 0 or 1 gets an infinite log score when wrong; a Monte Carlo estimate of
exactly 0 means "below the simulation's resolution", so probabilities are clipped to
[:data:`CLIP`, 1 - :data:`CLIP`] before scoring (every predictor alike).
"""

from __future__ import annotations

import numpy as np
import scoringrules as sr

#: Probabilities are scored inside [CLIP, 1 - CLIP].
CLIP = 1e-3
#: Kinds of events the backtest scores; an event name is "<kind>" or "<kind>:<name>".
KINDS = ("attack", "join", "defense_success", "mandate")


def event_kind(event: str) -> str:
    """``"join:GBR"`` -> ``"join"``."""
    return event.split(":", 1)[0]


def clip(p: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(p, dtype=float), CLIP, 1.0 - CLIP)


def brier(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Brier score of each forecast, same shape as ``p``; NaN where ``y`` or ``p`` is NaN."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    out = np.full(np.broadcast(p, y).shape, np.nan)
    ok = ~(np.isnan(p) | np.isnan(y))
    out[ok] = sr.brier_score(y[ok], clip(p[ok]))
    return out


def log_score(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Log score -log P(what happened) of each forecast; NaN where ``y`` or ``p`` is NaN."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    out = np.full(np.broadcast(p, y).shape, np.nan)
    ok = ~(np.isnan(p) | np.isnan(y))
    out[ok] = sr.log_score(y[ok], clip(p[ok]))
    return out


def leave_future_out_base_rates(
    kinds: np.ndarray, dates: np.ndarray, outcomes: np.ndarray
) -> np.ndarray:
    """The base-rate forecast of every event from the outcomes of strictly earlier cases only.

    For case ``c`` and event ``e`` of kind ``k``: (n1 + 1/2) / (n + 1), where n events of kind k
    were scored in cases dated before ``c`` and n1 of them happened (Jeffreys' prior: 1/2 for
    the first case, never 0 or 1).

    Parameters
    ----------
    kinds : (E,) str, the kind of each event (:data:`KINDS`)
    dates : (C,) sortable, each case's crisis date
    outcomes : (C, E) float, 1/0, NaN where the event is not scored

    Returns
    -------
    (C, E) float, NaN where ``outcomes`` is NaN.
    """
    kinds, dates = np.asarray(kinds), np.asarray(dates)
    outcomes = np.asarray(outcomes, float)
    out = np.full(outcomes.shape, np.nan)
    for c in range(len(dates)):
        earlier = dates < dates[c]
        for e in np.flatnonzero(~np.isnan(outcomes[c])):
            past = outcomes[earlier][:, kinds == kinds[e]]
            past = past[~np.isnan(past)]
            out[c, e] = (past.sum() + 0.5) / (len(past) + 1.0)
    return out


def reliability(p: np.ndarray, y: np.ndarray, n_bins: int = 5) -> dict[str, np.ndarray]:
    """Reliability table: equal-width bins of forecast probability.

    Returns arrays (n_bins,): ``p_mean`` (mean forecast in the bin), ``observed`` (share that
    happened), ``n`` (events), and ``observed_q05``, ``observed_q95`` (Jeffreys 90% interval);
    NaN in empty bins.
    """
    from scipy import stats

    p, y = np.asarray(p, float), np.asarray(y, float)
    ok = ~(np.isnan(p) | np.isnan(y))
    p, y = p[ok], y[ok]
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    table = {k: np.full(n_bins, np.nan) for k in ("p_mean", "observed", "observed_q05")}
    table["observed_q95"] = np.full(n_bins, np.nan)
    table["n"] = np.zeros(n_bins, dtype=int)
    for b in range(n_bins):
        sel = idx == b
        n = int(sel.sum())
        table["n"][b] = n
        if n:
            k = y[sel].sum()
            table["p_mean"][b] = p[sel].mean()
            table["observed"][b] = k / n
            table["observed_q05"][b], table["observed_q95"][b] = stats.beta.ppf(
                [0.05, 0.95], k + 0.5, n - k + 0.5
            )
    return table
