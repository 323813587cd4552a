"""The crisis model in plain vectorised numpy: the readable specification and the test oracle.

Mirrors :mod:`forecast.model.kernels` name for name, vectorised over the realizations of a block,
and
consumes the same pre-drawn random numbers in the same arithmetic order, and takes its log and exp
from the same fdlibm arithmetic (:func:`log_`, :func:`exp_`), so integer counts agree with the
kernel exactly.

One crisis, for each attack type t:

1. Latent resolve x_i = sum_k L_ik g_k + sqrt(1 - |L_i|^2) e_i (fresh normals each crisis).
2. Another theatre engages partner i with probability engaged[i, 0]: its power is scaled by
   engaged[i, 1] and its threshold shifted by engaged[i, 2].
3. Each institution votes; a mandate (or its absence) shifts members' thresholds.
4. Partners decide in dependency order: i acts iff it attributes the attack (uniform <
   attribution[t, i]), every partner it requires acts, and x_i < threshold, where threshold =
   Phi^-1(w_it) + sum of follows[i, j] over acting j - buck[i] * committed share + shifts.
5. Chain-ganging: a partner not acting is drawn in with probability
   1 - prod_j (1 - allies[i, j]) over acting allies j, until nothing changes.
6. Arrival and fait-accompli times are log-normal around the draw's values (compared on the
   log scale); a partner arriving after the fait-accompli time counts at the late discount; a
   partner's power is scaled by access[i, j] for each partner j that does not act.
7. The coalition (target + acting partners) wins iff its power exceeds A (u / (1 - u))^(1/m)
   for the crisis's contest uniform u, i.e. with probability C^m / (C^m + A^m).
8. The same crisis is replayed with the aggressor's perceived thresholds (common random numbers).
"""

import numpy as np

from forecast.model import kernels
from forecast.model.kernels import (
    F_ACCESS,
    F_ALLIES,
    F_HOST,
    HIST_CLIP,
    HIST_HI,
    HIST_LO,
    L_ATTR,
    L_CHAIN,
    L_CONTEST,
    L_DELAY,
    L_ENGAGED,
    L_FA,
    L_FACTOR,
    L_IDIO,
    L_VOTE,
    N_BINS,
    P_ENTANGLED,
    P_IN_TIME,
    P_JOIN,
    P_PIVOTAL,
    P_PJOIN,
    RULE_CONSENSUS,
    RULE_INDIVIDUAL,
    RULE_MAJORITY,
    RULE_UNANIMITY,
    T_CAME,
    T_CAME_WON,
    T_PWIN,
    T_WIN,
)


def log_(y):
    """Elementwise log of max(y, TINY): the arithmetic of
    :func:`forecast.model.kernels.log_lanes`."""
    y = np.maximum(np.asarray(y, dtype=np.float64), kernels.TINY)
    ix = y.view(np.int64) - kernels.SQRT_HALF_BITS
    m = ((ix & kernels.MANTISSA) + kernels.SQRT_HALF_BITS).view(np.float64)
    return kernels.log_poly.py_func(m - 1.0, (ix >> 52).astype(np.float64))


def exp_(x):
    """Elementwise exp, the argument clamped: the arithmetic of :func:`kernels.exp_lanes`."""
    x = np.minimum(np.maximum(np.asarray(x, dtype=np.float64), kernels.EXP_LO), kernels.EXP_HI)
    k = np.floor(x * kernels.INV_LN2 + 0.5)
    return kernels.exp_poly.py_func(x, k) * ((k.astype(np.int64) + 1023) << 52).view(np.float64)


def contest(c, a, m):
    """Contest-success probability c^m / (c^m + a^m), elementwise."""
    return 1.0 / (1.0 + np.exp(m * (np.log(a) - np.log(c))))


def winning_power(a, m, u):
    """Power needed to win a contest whose uniform draw is u: A (u / (1 - u))^(1/m)."""
    return a * exp_(log_(u / (1.0 - u)) * (1.0 / m))


def partner_power(i, act, cap_eff, access, flags):
    """(n,) power partner i brings: its capability scaled by the access it lacks."""
    f = cap_eff[:, i].copy()
    if flags[i] & F_ACCESS:
        for j in range(act.shape[1]):
            f = np.where(~act[:, j], f * access[i, j], f)
    return f


def coalition_power(act, cap_eff, access, flags, cap_target):
    """(n,) target's power plus acting partners' (act, cap_eff: (n, P)), scaled by access."""
    n, P = act.shape
    c = np.full(n, float(cap_target))
    for i in range(P):
        c = np.where(act[:, i], c + partner_power(i, act, cap_eff, access, flags), c)
    return c


def flipped_power(i, c, act, cap_eff, access, flags, cap_target):
    """(n,) coalition power with partner i's choice alone reversed, the others held fixed."""
    if not flags[i] & F_HOST:  # nobody's access depends on i: add or remove its own power
        f = partner_power(i, act, cap_eff, access, flags)
        return np.where(act[:, i], c - f, c + f)
    flipped = act.copy()
    flipped[:, i] = ~flipped[:, i]
    return coalition_power(flipped, cap_eff, access, flags, cap_target)


def decide(
    thr_t,
    attr_t,
    x,
    shift,
    attributed_u,
    order,
    requires,
    follows,
    buck,
    cap,
    allies,
    chain_u,
    flags,
):
    """Decisions of all partners in all n crises; returns act, ent (n, P) bool."""
    n, P = x.shape
    act = np.zeros((n, P), dtype=bool)
    ent = np.zeros((n, P), dtype=bool)
    total = np.zeros(n)
    for i in range(P):
        total = total + cap[:, i]
    committed = np.zeros(n)
    for i in order:
        ok = np.ones(n, dtype=bool)
        if attributed_u is not None:
            ok &= attributed_u[:, i] < attr_t[i]
        for j in range(P):
            if requires[i, j]:
                ok &= act[:, j]
        t = np.full(n, float(thr_t[i]))
        for j in range(P):
            t = np.where(act[:, j], t + follows[i, j], t)
        # share of partner power committed, committed * (1 / total) as the kernel computes it;
        # 0 when no partner has any power (not 0 / 0)
        share = committed * np.divide(1.0, total, out=np.zeros(n), where=total > 0)
        t = t - buck[i] * share
        t = t + shift[:, i]
        a = ok & (x[:, i] < t)
        act[:, i] = a
        committed = np.where(a, committed + cap[:, i], committed)
    if chain_u is not None:
        changed = True
        while changed:
            changed = False
            for i in order:
                if not flags[i] & F_ALLIES:
                    continue
                q = np.ones(n)
                for j in range(P):
                    q = np.where(act[:, j], q * (1.0 - allies[i, j]), q)
                new = ~act[:, i] & (chain_u[:, i] < 1.0 - q)
                if new.any():
                    act[:, i] |= new
                    ent[:, i] |= new
                    changed = True
    return act, ent


def _institutions(
    inst_vote, inst_abstain, inst_member, inst_rule, inst_veto, inst_shift, u, col, shift, acc_j
):
    n = u.shape[0]
    J, V = inst_vote.shape
    for j in range(J):
        rule = int(inst_rule[j, 0])
        if rule == RULE_INDIVIDUAL:
            continue
        nv = int(inst_rule[j, 2])
        yes = np.zeros(n, dtype=np.int64)
        no = np.zeros(n, dtype=np.int64)
        vetoed = np.zeros(n, dtype=bool)
        for v in range(nv):
            uv = u[:, col + j * V + v]
            p = inst_vote[j, v]
            y = uv < p
            abstain = ~y & (uv < p + (1.0 - p) * inst_abstain[j, v])
            nay = ~y & ~abstain
            yes += y
            no += nay
            if inst_veto[j, v]:
                vetoed |= nay
        if rule == RULE_UNANIMITY:
            mandate = yes == nv
        elif rule == RULE_CONSENSUS:
            mandate = no == 0
        elif rule == RULE_MAJORITY:
            mandate = yes >= inst_rule[j, 1]
        else:
            mandate = (yes >= inst_rule[j, 1]) & ~vetoed
        acc_j[j] += mandate.sum()
        for i in range(shift.shape[1]):
            if inst_member[j, i]:
                shift[:, i] = shift[:, i] + np.where(mandate, inst_shift[j, 0], inst_shift[j, 1])


def simulate_block(
    thr,
    thr_perc,
    attribution,
    loadings,
    idio,
    order,
    requires,
    follows,
    buck,
    cap,
    access,
    engaged,
    allies,
    flags,
    log_delay,
    delay_spread,
    timing,
    inst_vote,
    inst_abstain,
    inst_member,
    inst_rule,
    inst_veto,
    inst_shift,
    power,
    layout,
    z,
    u,
    acc_t,
    acc_tp,
    acc_j,
    hist,
):
    """Vectorised twin of :func:`forecast.model.kernels.simulate_block` (same arguments)."""
    n = z.shape[0]
    T, P = thr.shape
    K = loadings.shape[1]
    cap_target, cap_aggr, m = power[0], power[1], power[2]
    x = idio * z[:, layout[L_IDIO] : layout[L_IDIO] + P]
    for k in range(K):
        x = x + loadings[:, k] * z[:, layout[L_FACTOR] + k : layout[L_FACTOR] + k + 1]
    shift = np.zeros((n, P))
    cap_eff = np.tile(cap, (n, 1)).astype(float)
    if layout[L_ENGAGED] >= 0:
        eng = u[:, layout[L_ENGAGED] : layout[L_ENGAGED] + P] < engaged[:, 0]
        cap_eff = np.where(eng, cap_eff * engaged[:, 1], cap_eff)
        shift = np.where(eng, shift + engaged[:, 2], shift)
    _institutions(
        inst_vote,
        inst_abstain,
        inst_member,
        inst_rule,
        inst_veto,
        inst_shift,
        u,
        layout[L_VOTE],
        shift,
        acc_j,
    )
    fa = np.full(n, float(timing[0]))
    if layout[L_FA] >= 0:
        s = timing[1]
        fa = fa + (s * z[:, layout[L_FA]] - 0.5 * s * s)
    d = np.tile(log_delay, (n, 1)).astype(float)
    if layout[L_DELAY] >= 0:
        s = delay_spread
        d = d + (s * z[:, layout[L_DELAY] : layout[L_DELAY] + P] - 0.5 * s * s)
    in_time = d <= fa[:, None]
    cap_eff = np.where(in_time, cap_eff, cap_eff * timing[2])
    c_star = winning_power(cap_aggr, m, u[:, layout[L_CONTEST]])
    attr_u = u[:, layout[L_ATTR] : layout[L_ATTR] + P] if layout[L_ATTR] >= 0 else None
    chain_u = u[:, layout[L_CHAIN] : layout[L_CHAIN] + P] if layout[L_CHAIN] >= 0 else None
    scale = N_BINS / (HIST_HI - HIST_LO)
    for t in range(T):
        args = (order, requires, follows, buck, cap_eff, allies, chain_u, flags)
        act, ent = decide(thr[t], attribution[t], x, shift, attr_u, *args)
        pact, _ = decide(thr_perc[t], attribution[t], x, shift, attr_u, *args)
        c = coalition_power(act, cap_eff, access, flags, cap_target)
        win = c > c_star
        came = act.any(axis=1)
        acc_tp[t, :, P_JOIN] += act.sum(axis=0)
        acc_tp[t, :, P_IN_TIME] += (act & in_time).sum(axis=0)
        acc_tp[t, :, P_ENTANGLED] += ent.sum(axis=0)
        acc_tp[t, :, P_PJOIN] += pact.sum(axis=0)
        for i in range(P):
            flipped = flipped_power(i, c, act, cap_eff, access, flags, cap_target)
            acc_tp[t, i, P_PIVOTAL] += ((flipped > c_star) != win).sum()
        acc_t[t, T_WIN] += win.sum()
        acc_t[t, T_CAME_WON] += (win & came).sum()
        acc_t[t, T_CAME] += came.sum()
        acc_t[t, T_PWIN] += (
            coalition_power(pact, cap_eff, access, flags, cap_target) > c_star
        ).sum()
        ratio = np.minimum(np.maximum(c * (1.0 / cap_aggr), HIST_CLIP[0]), HIST_CLIP[1])
        b = np.floor((log_(ratio) * kernels.INV_LN10 - HIST_LO) * scale).astype(np.int64)
        np.add.at(hist[t], np.clip(b, 0, N_BINS - 1), 1.0)
