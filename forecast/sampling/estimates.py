"""Accumulators -> per-draw probabilities, each with its Monte Carlo standard error.

Conventions. Within a draw, a frequency p from n crises has MCSE sqrt(p (1 - p) / n). Quantities
"given an attack" mix the attack types with weights P(type | attack); their MCSE is the
triangle-inequality bound sum_t w_t MCSE_t, which stays valid although the types share random
numbers (it is conservative). Smooth functions of frequencies (the attack decision) use the
first-order delta method, again summing absolute contributions.

The aggressor decides twice per draw from the same counts: on its own (perceived) chances, which
is what it does, and on ours (the true-world win and join frequencies), which is what it would do
had it shared our beliefs. Both decisions use the same logistic noise draw (the noise stands for
its motives, which do not depend on its beliefs), so P(it attacks but would not have with our
beliefs) is max(0, P(attack | its beliefs) - P(attack | ours)) for each attack type on the table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from forecast.model import aggressor, kernels

QUANTILES = np.array([0.05, 0.25, 0.5, 0.75, 0.95])

DRAW, ACTOR, ATTACK_TYPE, INSTITUTION, QUANTILE, CONTRIBUTION, PHASE = (
    "draw",
    "actor",
    "attack_type",
    "institution",
    "quantile",
    "contribution",
    "phase",
)
# the contribution dim's coordinates: the partner's troops, then the other kinds of help
CONTRIBUTIONS = ("troops", "access", "arms", "sanctions")


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


def attack_decision(
    model: Any, draws: Any, p_win: np.ndarray, p_join: np.ndarray, sanctions: Any = 0.0
) -> tuple:
    """The aggressor's choice from a view of its chances (its perceived one, or ours).

    Parameters
    ----------
    draws : :class:`forecast.model.beliefs.Draws`, whose prize, cost and decision_noise (D, T)
        are the draw's beliefs about the aggressor.
    p_win : (D, T) P(the aggressor wins) by attack type, in the view.
    p_join : (D, T, P) P(partner joins) by attack type, in the view.
    sanctions : (D, T) the expected cost of the sanctions partners impose, sum_i cost_i
        P(i imposes them) (the kinds of help of docs/war.md), the same in every view.

    Returns
    -------
    value (D, T) value of attacking, prize * p_win - cost - sum_i cost_i p_join_i - sanctions;
    p_type_attack (D, T) P(attack with type t); sig (D, T) P(attack | type t on the table);
    prior (D, T) P(type t on the table) (one-hot on the best type when the aggressor chooses).
    """
    value = (
        draws.prize * p_win - draws.cost - (p_join * model.partner_cost).sum(axis=-1) - sanctions
    )
    sig = special.expit(value / draws.decision_noise)
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


def _miscalculation(model: Any, ours: tuple, true: tuple) -> tuple[np.ndarray, np.ndarray]:
    """P(the aggressor attacks but would not have with our beliefs) (D,) and its MCSE (D,).

    ``ours`` and ``true`` are (p_attack (D,), sig (D, T), prior (D, T), se_sig (D, T)) of the
    decision on the aggressor's perceived chances and on ours. With a common noise draw, the
    attack in one world and not the other has probability max(0, difference) of the two attack
    probabilities: per type on the table when the type is chance (the same type in both worlds),
    overall when the aggressor chooses it (each world picks its own best type). max(0, .) is
    1-Lipschitz, so its MCSE is at most that of the difference (bounded by the sum). With no
    misperception the two worlds are identical crisis by crisis: exactly 0, with no error.
    """
    p, sig, prior, se = ours
    pt, sig_t, prior_t, se_t = true
    if model.choose_type:
        gap = np.maximum(0.0, p - pt)
        err = (prior * se).sum(axis=1) + (prior_t * se_t).sum(axis=1)
    else:
        gap = (prior * np.maximum(0.0, sig - sig_t)).sum(axis=1)
        err = (prior * (se + se_t)).sum(axis=1)
    if not (np.any(model.perceived_bias) or np.any(model.perceived_noise)):
        err = np.zeros_like(err)
    return gap, err


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


def pivotality(by_type: np.ndarray, by_partner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total-effect pivotality (D, T, P) and its MCSE from the counts by_type (D, T, N_T) and
    by_partner (D, T, P, N_TP): P(win | forced in) - P(win | forced out) over the crises it was
    evaluated on (T_PIVOTAL_N), the mean of a difference d in {-1, 0, 1} per crisis, whose
    variance is P(d != 0) - mean^2."""
    return _forced_difference(by_type, by_partner, kernels.P_PIVOTAL, kernels.P_FLIPS)


def _forced_difference(by_type: np.ndarray, by_partner: np.ndarray, net: int, flips: int) -> tuple:
    """The mean of a difference d in {-1, 0, 1} per crisis over the T_PIVOTAL_N crises, from the
    counts of sum d (column ``net`` of by_partner) and of d != 0 (column ``flips``), and its
    MCSE: the variance of d is P(d != 0) - mean^2."""
    n = np.maximum(by_type[..., kernels.T_PIVOTAL_N], 1.0)[..., None]
    mean = by_partner[..., net] / n
    return mean, np.sqrt(np.clip(by_partner[..., flips] / n - mean**2, 0.0, None) / n)


def help_pivotality(by_type: np.ndarray, by_partner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pivotality of each kind of help (D, T, P, C), C the kinds of CONTRIBUTIONS, and its MCSE:
    troops as :func:`pivotality`; bases and arms P(win | that help forced) - P(win | withheld),
    the partner's troops and every other decision as they are; sanctions 0, as they do not act
    on the war (their effect is on the aggressor's cost)."""
    piv, se = pivotality(by_type, by_partner)
    access = _forced_difference(by_type, by_partner, kernels.P_PIV_ACCESS, kernels.P_FLIPS_ACCESS)
    arms = _forced_difference(by_type, by_partner, kernels.P_PIV_ARMS, kernels.P_FLIPS_ARMS)
    none = np.zeros_like(piv)
    kinds = {"troops": (piv, se), "access": access, "arms": arms, "sanctions": (none, none)}
    return (
        np.stack([kinds[c][0] for c in CONTRIBUTIONS], axis=-1),
        np.stack([kinds[c][1] for c in CONTRIBUTIONS], axis=-1),
    )


def sanctions_cost(model: Any, by_partner: np.ndarray, n: np.ndarray) -> tuple:
    """(D, T) sum_i cost_i P(i imposes sanctions) from by_partner (D, T, P, N_TP) over n (D,)
    crises, and its MCSE (the sum of the partners' errors)."""
    cost = model.static["war"]["sanction_cost"]
    p = by_partner[..., kernels.P_SANCTIONS] / n[:, None, None]
    return (p * cost).sum(axis=-1), (_se(p, n[:, None, None]) * cost).sum(axis=-1)


def pivotality_deterrence(
    model: Any, draws: Any, by_type: np.ndarray, by_partner: np.ndarray, by_pair: np.ndarray,
    sanctions: Any = 0.0,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """P(attack | the aggressor knows partner i stays out) - P(attack), (D, P), and its MCSE.

    Both from the aggressor's perceived world on the same crises (the T_PIVOTAL_N crises of
    by_type (D, T, N_T)): as it is (T_PWIN_PIV, P_PJOIN_PIV of by_partner (D, T, P, N_TP)) and
    with i forced out (P_PWIN_OUT of by_partner, PP_PJOIN_OUT of by_pair (D, T, P, P, N_PP)),
    each through :func:`attack_decision` (so the aggressor picks its best type in each world
    when it chooses). Positive: the partner deters.

    MCSE, first-order delta method. Per type t on the table with the same weight in both worlds,
    g(v_out) - g(v) with g = expit(. / noise) has the error g'(v_out) (e_out - e) + (g'(v_out) -
    g'(v)) e; e_out - e is the error of the mean of a per-crisis difference of the value, a sum
    of terms prize dW - sum_j cost_j dJ_j with dW, dJ_j in {-1, 0, 1} (sd sqrt(P(d != 0) -
    mean^2), counted in P_PWIN_FLIPS and PP_PJOIN_FLIPS), whose sd is at most the sum of theirs
    (Minkowski), so common random numbers are credited without the covariances. A type weighted
    differently in the two worlds (the aggressor's best type changes) adds both worlds' errors.
    Absolute contributions are summed over types (conservative, as elsewhere). A partner that
    nobody depends on, with no power and no cost to the aggressor, gets exactly 0 with error 0.
    """
    n = np.maximum(by_type[..., kernels.T_PIVOTAL_N], 1.0)  # (D, T)
    nn = n[..., None]
    cost = np.abs(np.asarray(model.partner_cost, dtype=float))
    prize, noise = np.abs(draws.prize), draws.decision_noise

    def world(p_win: np.ndarray, p_join: np.ndarray) -> tuple:
        _, p_type, sig, prior = attack_decision(model, draws, p_win, p_join, sanctions)
        se_value = prize * _se(p_win, n) + (_se(p_join, nn) * cost).sum(axis=-1)
        return p_type.sum(axis=1), prior, sig * (1.0 - sig) / noise, se_value

    pw = 1.0 - by_type[..., kernels.T_PWIN_PIV] / n
    pj = by_partner[..., kernels.P_PJOIN_PIV] / nn
    p_base, prior, slope, se_base = world(pw, pj)
    P = by_partner.shape[2]
    out, err = np.zeros((len(n), P)), np.zeros((len(n), P))
    for i in range(P):
        pw_i = 1.0 - by_partner[..., i, kernels.P_PWIN_OUT] / n
        pj_i = by_pair[..., i, :, kernels.PP_PJOIN_OUT] / nn
        p_i, prior_i, slope_i, se_i = world(pw_i, pj_i)
        sd_w = np.sqrt(np.clip(by_partner[..., i, kernels.P_PWIN_FLIPS] / n - (pw_i - pw) ** 2,
                               0.0, None))  # fmt: skip
        sd_j = np.sqrt(
            np.clip(by_pair[..., i, :, kernels.PP_PJOIN_FLIPS] / nn - (pj_i - pj) ** 2, 0.0, None)
        )
        se_diff = (prize * sd_w + (sd_j * cost).sum(axis=-1)) / np.sqrt(n)
        paired = prior_i * (slope_i * se_diff + np.abs(slope_i - slope) * se_base)
        apart = prior_i * slope_i * se_i + prior * slope * se_base
        out[:, i] = p_i - p_base
        err[:, i] = np.where(prior_i == prior, paired, apart).sum(axis=1)
    return out, err


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
    pjoin_t = bp[..., kernels.P_JOIN] / ntp
    dr = plan.draws
    sanctions, se_sanctions = sanctions_cost(m, bp, n)

    def decide(p_win: np.ndarray, p_join: np.ndarray) -> tuple:
        value, p_type_attack, sig, prior = attack_decision(m, dr, p_win, p_join, sanctions)
        se_value = (
            dr.prize * _se(p_win, nt)
            + (_se(p_join, ntp) * m.partner_cost).sum(axis=-1)
            + se_sanctions
        )
        se_type_sig = sig * (1.0 - sig) / dr.decision_noise * se_value
        return value, p_type_attack, sig, prior, se_type_sig

    value, p_type_attack, sig, prior, se_sig = decide(p_win_perc_t, pjoin_perc_t)
    _, p_type_true, sig_true, prior_true, se_sig_true = decide(1.0 - win_t, pjoin_t)
    p_attack = p_type_attack.sum(axis=1)
    # weights P(type | attack); where an attack is numerically impossible, the prior's
    safe = p_attack[:, None] > 0
    w = np.where(safe, p_type_attack / np.where(safe, p_attack[:, None], 1.0), prior)
    se_type_attack = prior * se_sig
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
    for name, outcome in (("p_attack_repelled", came_won_t), ("p_attack_failed", win_t)):
        # P(attack and outcome) = sum_t P(attack with t) P(outcome | t)
        st.put(name, (D,), (p_type_attack * outcome).sum(axis=1))
        se = p_type_attack * _se(outcome, nt) + outcome * se_type_attack
        st.put(f"mcse_{name}", (D,), se.sum(axis=1))
    p_true = p_type_true.sum(axis=1)
    st.put("p_attack_true_beliefs", (D,), p_true)
    st.put("mcse_p_attack_true_beliefs", (D,), (prior_true * se_sig_true).sum(axis=1))
    miscalc, se_miscalc = _miscalculation(
        m, (p_attack, sig, prior, se_sig), (p_true, sig_true, prior_true, se_sig_true)
    )
    st.put("p_miscalculation", (D,), miscalc)
    st.put("mcse_p_miscalculation", (D,), se_miscalc)
    within, se_within = aggressor.p_within_horizon(
        p_attack, dr.opportunities_per_year, m.horizon_years, se_attack
    )
    st.put("p_attack_within_horizon", (D,), within)
    st.put("mcse_p_attack_within_horizon", (D,), se_within)
    for name, col in (
        ("p_join", kernels.P_JOIN),
        ("p_join_in_time", kernels.P_IN_TIME),
        ("p_entangled", kernels.P_ENTANGLED),
    ):
        given_attack(name, bp[..., col] / ntp, True)
    piv, se_piv = pivotality(bt, bp)
    st.put("pivotality", (D, A), (w[..., None] * piv).sum(axis=1))
    st.put("mcse_pivotality", (D, A), (w[..., None] * se_piv).sum(axis=1))
    det, se_det = pivotality_deterrence(m, dr, bt, bp, acc.by_pair, sanctions)
    st.put("pivotality_deterrence", (D, A), det)
    st.put("mcse_pivotality_deterrence", (D, A), se_det)

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
        pmp = acc.mandates_perc / nt
        st.put("p_mandate_perceived", (D, J), pmp)
        st.put("mcse_p_mandate_perceived", (D, J), _se(pmp, nt))
    _process(st, m, acc, w, n)
    hist = (w[..., None] * acc.hist).sum(axis=1)
    ratio = 10.0 ** _hist_quantiles(hist, QUANTILES)
    st.put("coalition_power_ratio", (D, Q), ratio)
    # each type's histogram is of C / A_t, A_t its own aggressor power: C's quantiles pool the
    # types' distributions of log10 C = log10(C / A_t) + log10 A_t
    a_t = _aggressor_by_type(m, dr)
    if np.all(a_t == a_t[:, :1]):  # one aggressor power: C / A scaled by it
        st.put("coalition_power", (D, Q), ratio * a_t[:, :1])
    else:
        st.put("coalition_power", (D, Q), 10.0 ** _pooled_quantiles(acc.hist, w, np.log10(a_t)))
    return st


def _aggressor_by_type(model: Any, draws: Any) -> np.ndarray:
    """(D, T) the aggressor's power in each attack type and draw, as the kernel gets it
    (:func:`forecast.model.process.aggressor_by_type`)."""
    from forecast.model.process import aggressor_by_type

    a = draws.capability_aggressor
    return np.array([aggressor_by_type(model, draws.values[d], a[d]) for d in range(len(a))])


def _pooled_quantiles(hist: np.ndarray, w: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Quantiles (D, Q) of the mixture over attack types, weights w (D, T), of the histograms
    hist (D, T, N_BINS) of log10(C / A_t), each moved by shift (D, T) = log10 A_t: the mixture's
    CDF is sum_t w_t F_t(x - shift_t), each F_t linear within a bin (as
    :func:`_hist_quantiles`), evaluated at every bin edge of every type and inverted by linear
    interpolation, which is exact for such CDFs."""
    edges = np.linspace(kernels.HIST_LO, kernels.HIST_HI, kernels.N_BINS + 1)
    cdf = np.cumsum(hist, axis=2)
    cdf = cdf / np.maximum(cdf[..., -1:], 1e-300)
    cdf = np.concatenate([np.zeros((*cdf.shape[:2], 1)), cdf], axis=2)
    D, T = w.shape
    out = np.empty((D, len(QUANTILES)))
    for d in range(D):
        x = np.unique((edges[None, :] + shift[d][:, None]).ravel())
        total = sum(w[d, t] * np.interp(x - shift[d, t], edges, cdf[d, t]) for t in range(T))
        out[d] = np.interp(QUANTILES, total / max(total[-1], 1e-300), x)
    return out


def _process(st: Stats, model: Any, acc: Any, w: np.ndarray, n: np.ndarray) -> None:
    """The war as a process: kinds of help, escalation and the course over phases, each given
    an attack (the types weighted by P(type | attack), w (D, T)); n (D,) crises per draw."""
    from forecast.model.war import PH_DECIDED, PH_FOUGHT, PH_HOLD

    nt, ntp = n[:, None], n[:, None, None]
    bp = acc.by_partner
    cols = (kernels.P_JOIN, kernels.P_ACCESS, kernels.P_ARMS, kernels.P_SANCTIONS)
    per_type = np.stack([bp[..., c] / ntp for c in cols], axis=-1)  # (D, T, P, C)
    st.put("p_contributes", (DRAW, ACTOR, CONTRIBUTION), (w[..., None, None] * per_type).sum(1))
    se = _se(per_type, n[:, None, None, None])
    st.put("mcse_p_contributes", (DRAW, ACTOR, CONTRIBUTION), (w[..., None, None] * se).sum(1))
    piv, se_piv = help_pivotality(acc.by_type, bp)
    dims = (DRAW, ACTOR, CONTRIBUTION)
    st.put("pivotality_contribution", dims, (w[..., None, None] * piv).sum(1))
    st.put("mcse_pivotality_contribution", dims, (w[..., None, None] * se_piv).sum(1))
    esc = acc.by_type[..., kernels.T_ESCALATION] / nt
    st.put("p_escalation", (DRAW,), (w * esc).sum(axis=1))
    st.put("mcse_p_escalation", (DRAW,), (w * _se(esc, nt)).sum(axis=1))
    # phases beyond a type's own: the war has ended, its outcome holds
    ph = acc.by_phase.copy()
    from forecast.model.war import POWER_SCALE

    power = acc.phase_power / POWER_SCALE  # fixed point: units of 1 / POWER_SCALE
    for t, k_t in enumerate(model.static["war"]["n_phases"]):
        ph[:, t, k_t:, PH_HOLD] = ph[:, t, k_t - 1 : k_t, PH_HOLD]
    hold = ph[..., PH_HOLD] / nt[..., None]
    decided = ph[..., PH_DECIDED] / nt[..., None]
    ww = w[..., None]
    st.put("p_holds_objective", (DRAW, PHASE), (ww * hold).sum(axis=1))
    st.put("mcse_p_holds_objective", (DRAW, PHASE), (ww * _se(hold, nt[..., None])).sum(axis=1))
    st.put("p_decided_in_phase", (DRAW, PHASE), (ww * decided).sum(axis=1))
    st.put("mcse_p_decided_in_phase", (DRAW, PHASE), (ww * _se(decided, nt[..., None])).sum(axis=1))
    # each attack type's own: its phases differ from the others' (0 beyond its last)
    dims = (DRAW, ATTACK_TYPE, PHASE)
    st.put("p_decided_in_phase_by_type", dims, decided)
    st.put("mcse_p_decided_in_phase_by_type", dims, _se(decided, nt[..., None]))
    fought = (ww * ph[..., PH_FOUGHT]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        st.put(
            "coalition_power_by_phase",
            (DRAW, PHASE),
            np.where(fought > 0, (ww * power).sum(axis=1) / fought, np.nan),
        )


def type_phase_names(model: Any) -> list[list[str]]:
    """(T, K) each attack type's own name for each phase of the phase dim, "" beyond its last."""
    lists = model.static["war"]["phase_names"]
    k = max(len(names) for names in lists)
    return [[*map(str, names), *([""] * (k - len(names)))] for names in lists]


def phase_names(model: Any) -> list[str]:
    """The phase dim's coordinates: phase k's name, or the attack types' different names for
    it joined by "/" in the order of the types (an invasion's "assault" and a blockade's
    "interdiction" give "assault/interdiction")."""
    lists = model.static["war"]["phase_names"]
    out = []
    for k in range(max(len(names) for names in lists)):
        seen = list(dict.fromkeys(names[k] for names in lists if k < len(names)))
        out.append("/".join(seen))
    return out


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
