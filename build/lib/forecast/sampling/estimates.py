"""Accumulators -> per-draw probabilities, each with its Monte Carlo standard error.

Conventions. Within a draw, a frequency p from n crises has MCSE sqrt(p (1 - p) / n). Quantities
"given an attack" mix the attack types with weights P(type | attack); their MCSE is the
triangle-inequality bound sum_t w_t MCSE_t, which stays valid although the types share random
numbers (it is conservative). Smooth functions of frequencies (the attack decision) use the
first-order delta method, again summing absolute contributions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from forecast.model import kernels

QUANTILES = np.array([0.05, 0.25, 0.5, 0.75, 0.95])

DRAW, ACTOR, ATTACK_TYPE, INSTITUTION, QUANTILE = (
    "draw",
    "actor",
    "attack_type",
    "institution",
    "quantile",
)


class Stats(dict):
    """name -> per-draw array, with ``dims[name]`` naming each array's dims."""

    def __init__(self) -> None:
        super().__init__()
        self.dims: dict[str, tuple[str, ...]] = {}

    def put(self, name: str, dims: tuple[str, ...], value: np.ndarray) -> None:
        self[name] = np.asarray(value, dtype=float)
        self.dims[name] = dims


def _se(p: np.ndarray, n: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(p * (1.0 - p), 0.0, None) / n)


def attack_decision(model: Any, p_win: np.ndarray, p_join_perc: np.ndarray) -> tuple:
    """The aggressor's choice from its perceived chances.

    Parameters
    ----------
    p_win : (D, T) the aggressor's perceived P(it wins) by attack type.
    p_join_perc : (D, T, P) its perceived P(partner joins) by attack type.

    Returns
    -------
    value (D, T) perceived value of attacking, prize * p_win - cost - sum_i cost_i p_join_i;
    p_type_attack (D, T) P(attack with type t); sig (D, T) P(attack | type t on the table).
    """
    value = (
        model.type_prize * p_win - model.type_cost - (p_join_perc * model.partner_cost).sum(axis=-1)
    )
    sig = special.expit(value / model.decision_noise)
    if model.choose_type:
        onehot = np.zeros_like(value)
        onehot[np.arange(value.shape[0]), value.argmax(axis=1)] = 1.0
        return value, onehot * sig, sig, onehot
    return (
        value,
        model.type_probability * sig,
        sig,
        np.broadcast_to(model.type_probability, value.shape),
    )


def _hist_quantiles(hist: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles (D, Q) of log10(C / A) from histograms (D, N_BINS), linear within a bin.

    The histogram spans C / A from 10^HIST_LO to 10^HIST_HI (1% to 100x the aggressor's
    power) in bins of 0.02 in log10 (about 5%); power outside is clipped to the end bins.
    Keeping a histogram, not the crises, keeps memory constant in the number of realizations.
    """
    edges = np.linspace(kernels.HIST_LO, kernels.HIST_HI, kernels.N_BINS + 1)
    cdf = np.cumsum(hist, axis=1)
    cdf = cdf / np.maximum(cdf[:, -1:], 1e-300)
    out = np.empty((hist.shape[0], len(q)))
    for d in range(hist.shape[0]):
        out[d] = np.interp(q, np.concatenate([[0.0], cdf[d]]), edges)
    return out


def summarise(plan: Any, acc: Any) -> Stats:
    """Per-draw probabilities and their MCSEs from the accumulators of every draw."""
    m = plan.model
    n = acc.n.astype(float)
    nt = n[:, None]
    ntp = n[:, None, None]
    bt, bp = acc.by_type, acc.by_partner
    win_t = bt[..., kernels.T_WIN] / nt
    came_t = bt[..., kernels.T_CAME] / nt
    came_won_t = bt[..., kernels.T_CAME_WON] / nt
    p_win_perc_t = 1.0 - bt[..., kernels.T_PWIN] / nt
    pjoin_perc_t = bp[..., kernels.P_PJOIN] / ntp

    value, p_type_attack, sig, prior = attack_decision(m, p_win_perc_t, pjoin_perc_t)
    p_attack = p_type_attack.sum(axis=1)
    # weights P(type | attack); where an attack is numerically impossible, the prior's
    safe = p_attack[:, None] > 0
    w = np.where(safe, p_type_attack / np.where(safe, p_attack[:, None], 1.0), prior)

    se_value = m.type_prize * _se(p_win_perc_t, nt) + (_se(pjoin_perc_t, ntp) * m.partner_cost).sum(
        axis=-1
    )
    dsig = sig * (1.0 - sig) / m.decision_noise
    se_type_attack = prior * dsig * se_value
    se_attack = se_type_attack.sum(axis=1)

    st = Stats()
    D, A, T, J, Q = DRAW, ACTOR, ATTACK_TYPE, INSTITUTION, QUANTILE

    def given_attack(name: str, per_type: np.ndarray, per_partner: bool) -> None:
        if per_partner:
            se = _se(per_type, ntp)
            st.put(name, (D, A), (w[..., None] * per_type).sum(axis=1))
            st.put(f"mcse_{name}", (D, A), (w[..., None] * se).sum(axis=1))
        else:
            se = _se(per_type, nt)
            st.put(name, (D,), (w * per_type).sum(axis=1))
            st.put(f"mcse_{name}", (D,), (w * se).sum(axis=1))

    st.put("p_attack", (D,), p_attack)
    st.put("mcse_p_attack", (D,), se_attack)
    st.put("p_deterrence", (D,), 1.0 - p_attack)
    st.put("mcse_p_deterrence", (D,), se_attack)
    given_attack("p_defense_success", win_t, False)
    given_attack("p_win_perceived", p_win_perc_t, False)
    given_attack("p_coalition_forms", came_t, False)
    miscalc = (p_type_attack * came_won_t).sum(axis=1)
    se_miscalc = (p_type_attack * _se(came_won_t, nt) + came_won_t * se_type_attack).sum(axis=1)
    st.put("p_miscalculation", (D,), miscalc)
    st.put("mcse_p_miscalculation", (D,), se_miscalc)
    for name, col in (
        ("p_join", kernels.P_JOIN),
        ("p_join_in_time", kernels.P_IN_TIME),
        ("p_entangled", kernels.P_ENTANGLED),
        ("pivotality", kernels.P_PIVOTAL),
    ):
        given_attack(name, bp[..., col] / ntp, True)

    st.put("p_attack_by_type", (D, T), p_type_attack)
    st.put("mcse_p_attack_by_type", (D, T), se_type_attack)
    st.put("p_attack_type", (D, T), w)
    st.put("attack_value", (D, T), value)
    st.put("p_defense_success_by_type", (D, T), win_t)
    st.put("mcse_p_defense_success_by_type", (D, T), _se(win_t, nt))
    pj = bp[..., kernels.P_JOIN] / ntp
    st.put("p_join_by_type", (D, T, A), pj)
    st.put("mcse_p_join_by_type", (D, T, A), _se(pj, ntp))
    if acc.mandates.shape[1]:
        pm = acc.mandates / nt
        st.put("p_mandate", (D, J), pm)
        st.put("mcse_p_mandate", (D, J), _se(pm, nt))
    hist = (w[..., None] * acc.hist).sum(axis=1)
    ratio = 10.0 ** _hist_quantiles(hist, QUANTILES)
    st.put("coalition_power_ratio", (D, Q), ratio)
    st.put("coalition_power", (D, Q), ratio * plan.draws.capability_aggressor[:, None])
    return st


def max_mcse(stats: Stats, scope: str = "overall") -> float:
    """The largest Monte Carlo standard error of any reported probability.

    ``overall``: of each probability's mean over the draws, sqrt(sum_d mcse_d^2) / D (the
    estimate the summary reports); ``draw``: within any single draw.
    """
    worst = 0.0
    for name, value in stats.items():
        if not name.startswith("mcse_"):
            continue
        if scope == "draw":
            worst = max(worst, float(np.max(value)))
        else:
            overall = np.sqrt((value**2).sum(axis=0)) / value.shape[0]
            worst = max(worst, float(np.max(overall)))
    return worst
