"""Numba kernels: arrays in, accumulators out. Imports numpy and numba, nothing else.

The kernels check nothing: inputs are validated once, in :mod:`forecast.beliefs`. Randomness is
drawn outside (one generator per unit of work, see :mod:`forecast.sampler`) and handed in as
arrays, so a kernel is a pure function of its inputs and :mod:`forecast.reference` can consume
the very same numbers. Every public name here has a twin in :mod:`forecast.reference`.

Shapes: T attack types, P partners, K factors, J institutions, V voters per institution
(padded), n realizations in the block, B histogram bins.
"""

import math

import numpy as np
from numba import njit

JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

# Per-type scalar accumulators, acc_t[t, .]
T_WIN = 0  # the coalition defeats the attack
T_PWIN = 1  # ... in the world the aggressor perceives
T_CAME = 2  # at least one partner joins
T_CAME_WON = 3  # a partner joins and the coalition wins
N_T = 4

# Per-type, per-partner accumulators, acc_tp[t, i, .]
P_JOIN = 0  # partner joins (directly or drawn in)
P_IN_TIME = 1  # ... and arrives before the fait-accompli time
P_ENTANGLED = 2  # ... drawn in through an ally, not by its own commitment
P_PIVOTAL = 3  # toggling this partner's choice alone flips the outcome
P_PJOIN = 4  # joins in the world the aggressor perceives
N_TP = 5

# Columns of the normal-number block z and the uniform block u (offsets in ``layout``; -1 absent)
L_FACTOR = 0  # K factor normals
L_IDIO = 1  # P idiosyncratic normals of resolve
L_DELAY = 2  # P normals of the partners' response delays
L_FA = 3  # 1 normal of the fait-accompli time
L_CONTEST = 4  # 1 uniform: the fighting's outcome
L_ATTR = 5  # P uniforms: attribution
L_ENGAGED = 6  # P uniforms: engaged in another theatre
L_VOTE = 7  # J * V uniforms: institutional votes
L_CHAIN = 8  # P uniforms: chain-ganging
N_LAYOUT = 9

# Per-partner flags (bits of flags[i]): which loops over other partners can be skipped
F_REQUIRES = 1  # i requires some partner
F_FOLLOWS = 2  # i follows some partner
F_ACCESS = 4  # i's power depends on another partner acting
F_HOST = 8  # another partner's power depends on i acting
F_ALLIES = 16  # i can be drawn in through an ally

# Institution rules (inst_rule[j, 0])
RULE_INDIVIDUAL = 0
RULE_UNANIMITY = 1
RULE_CONSENSUS = 2
RULE_MAJORITY = 3
RULE_VETO = 4

# Coalition power histogram: log10(C / A) in [HIST_LO, HIST_HI), N_BINS bins, ends clipped
HIST_LO = -2.0
HIST_HI = 2.0
N_BINS = 200


@njit(**JIT)
def fill_block(rng, z, u):
    """Fill z (n, NZ) with standard normals, then u (n, NU) with uniforms, from ``rng``.

    ``rng`` is a numpy ``Generator``; numba draws the same stream numpy would, faster, and
    without the GIL. Both backends consume the numbers it fills.
    """
    for r in range(z.shape[0]):
        for k in range(z.shape[1]):
            z[r, k] = rng.standard_normal()
    for r in range(u.shape[0]):
        for k in range(u.shape[1]):
            u[r, k] = rng.random()


@njit(inline="always", **JIT)
def contest(c, a, m):
    """Contest-success probability c^m / (c^m + a^m) of power c against power a."""
    return 1.0 / (1.0 + math.exp(m * (math.log(a) - math.log(c))))


@njit(inline="always", **JIT)
def winning_power(a, m, u):
    """Power the coalition needs to win a contest whose uniform draw is u.

    C^m / (C^m + A^m) > u  <=>  C > A (u / (1 - u))^(1/m), so one draw decides the outcome for
    every counterfactual coalition by a comparison alone (common random numbers).
    """
    return a * math.exp(math.log(u / (1.0 - u)) / m)


@njit(inline="always", **JIT)
def coalition_power(act, cap_eff, access, flags, cap_target):
    """Target's power plus every acting partner's, each scaled by the access it lacks."""
    P = act.shape[0]
    c = cap_target
    for i in range(P):
        if act[i]:
            f = cap_eff[i]
            if flags[i] & F_ACCESS:
                for j in range(P):
                    if not act[j]:
                        f *= access[i, j]
            c += f
    return c


@njit(inline="always", **JIT)
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
    act,
    ent,
):
    """Partners' decisions in dependency order, then chain-ganging; fills act, ent (P,) bool.

    thr_t (P,) base probit thresholds for this attack type; attr_t (P,) attribution
    probabilities; x (P,) latent resolve; shift (P,) probit shifts that do not depend on others
    (mandates, other theatres); attributed_u / chain_u (P,) uniforms (or empty).
    """
    P = x.shape[0]
    total = 0.0
    for i in range(P):
        total += cap[i]
        act[i] = False
        ent[i] = False
    committed = 0.0
    for k in range(P):
        i = order[k]
        if attributed_u.shape[0] > 0 and not attributed_u[i] < attr_t[i]:
            continue
        ok = True
        if flags[i] & F_REQUIRES:
            for j in range(P):
                if requires[i, j] and not act[j]:
                    ok = False
        if not ok:
            continue
        t = thr_t[i]
        if flags[i] & F_FOLLOWS:
            for j in range(P):
                if act[j]:
                    t += follows[i, j]
        t -= buck[i] * (committed / total)
        t += shift[i]
        if x[i] < t:
            act[i] = True
            committed += cap[i]
    if chain_u.shape[0] > 0:
        changed = True
        while changed:
            changed = False
            for k in range(P):
                i = order[k]
                if act[i] or not flags[i] & F_ALLIES:
                    continue
                q = 1.0
                for j in range(P):
                    if act[j]:
                        q *= 1.0 - allies[i, j]
                if chain_u[i] < 1.0 - q:
                    act[i] = True
                    ent[i] = True
                    changed = True


@njit(**JIT)
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
    """Run one block of crises for one epistemic draw and add to its accumulators.

    Parameters
    ----------
    thr, thr_perc : (T, P) probit thresholds of true and perceived willingness by attack type.
    attribution : (T, P) P(partner recognises the attack type as aggression).
    loadings : (P, K); idio : (P,) sqrt(1 - |L_i|^2).
    order : (P,) int64 decision order; requires : (P, P) bool; follows : (P, P) probit shifts.
    buck : (P,) probit shift per unit share of partner power already committed.
    cap : (P,) capabilities; access : (P, P) factor on i's power when j does not act.
    engaged : (P, 3) probability, capability factor, probit shift of another theatre.
    allies : (P, P) P(i is drawn in | ally j acts).
    flags : (P,) int64 bits F_* saying which loops over other partners a partner needs.
    log_delay, delay_spread : (P,) log response delay (-inf: none) and its aleatory log-sd.
    timing : (3,) log fait-accompli time (inf: none), its aleatory log-sd, late discount.
    inst_vote, inst_abstain : (J, V) P(yes), P(abstain | not yes); inst_member : (J, P) bool;
    inst_rule : (J, 3) rule code, k, number of voters; inst_veto : (J, V) bool;
    inst_shift : (J, 2) probit shift of members with / without a mandate.
    power : (3,) target's power, aggressor's power, contest exponent m.
    layout : (N_LAYOUT,) int64 column offsets into z (n, NZ) and u (n, NU), -1 when absent.
    acc_t (T, N_T), acc_tp (T, P, N_TP), acc_j (J,), hist (T, N_BINS): added to in place.
    """
    n = z.shape[0]
    T, P = thr.shape
    K = loadings.shape[1]
    J, V = inst_vote.shape
    cap_target, cap_aggr, m = power[0], power[1], power[2]
    x = np.empty(P)
    shift = np.empty(P)
    cap_eff = np.empty(P)
    in_time = np.empty(P, dtype=np.bool_)
    act = np.empty(P, dtype=np.bool_)
    ent = np.empty(P, dtype=np.bool_)
    pact = np.empty(P, dtype=np.bool_)
    pent = np.empty(P, dtype=np.bool_)
    empty = np.empty(0)
    scale = N_BINS / (HIST_HI - HIST_LO)
    for r in range(n):
        zr = z[r]
        ur = u[r]
        for i in range(P):
            xi = idio[i] * zr[layout[L_IDIO] + i]
            for k in range(K):
                xi += loadings[i, k] * zr[layout[L_FACTOR] + k]
            x[i] = xi
            shift[i] = 0.0
            cap_eff[i] = cap[i]
        if layout[L_ENGAGED] >= 0:
            for i in range(P):
                if ur[layout[L_ENGAGED] + i] < engaged[i, 0]:
                    cap_eff[i] *= engaged[i, 1]
                    shift[i] += engaged[i, 2]
        for j in range(J):
            rule = int(inst_rule[j, 0])
            if rule == RULE_INDIVIDUAL:
                continue
            yes = 0
            no = 0
            vetoed = False
            for v in range(int(inst_rule[j, 2])):
                uv = ur[layout[L_VOTE] + j * V + v]
                p = inst_vote[j, v]
                if uv < p:
                    yes += 1
                elif uv < p + (1.0 - p) * inst_abstain[j, v]:
                    pass
                else:
                    no += 1
                    if inst_veto[j, v]:
                        vetoed = True
            if rule == RULE_UNANIMITY:
                mandate = yes == int(inst_rule[j, 2])
            elif rule == RULE_CONSENSUS:
                mandate = no == 0
            elif rule == RULE_MAJORITY:
                mandate = yes >= inst_rule[j, 1]
            else:
                mandate = yes >= inst_rule[j, 1] and not vetoed
            if mandate:
                acc_j[j] += 1.0
            for i in range(P):
                if inst_member[j, i]:
                    shift[i] += inst_shift[j, 0] if mandate else inst_shift[j, 1]
        # arrival and fait accompli compared on the log scale: log-normal, mean-preserving noise
        fa = timing[0]
        if layout[L_FA] >= 0:
            s = timing[1]
            fa += s * zr[layout[L_FA]] - 0.5 * s * s
        for i in range(P):
            d = log_delay[i]
            if layout[L_DELAY] >= 0:
                s = delay_spread[i]
                d += s * zr[layout[L_DELAY] + i] - 0.5 * s * s
            in_time[i] = d <= fa
            if not in_time[i]:
                cap_eff[i] *= timing[2]
        c_star = winning_power(cap_aggr, m, ur[layout[L_CONTEST]])
        attr_u = ur[layout[L_ATTR] : layout[L_ATTR] + P] if layout[L_ATTR] >= 0 else empty
        chain_u = ur[layout[L_CHAIN] : layout[L_CHAIN] + P] if layout[L_CHAIN] >= 0 else empty
        for t in range(T):
            decide(
                thr[t],
                attribution[t],
                x,
                shift,
                attr_u,
                order,
                requires,
                follows,
                buck,
                cap_eff,
                allies,
                chain_u,
                flags,
                act,
                ent,
            )
            decide(
                thr_perc[t],
                attribution[t],
                x,
                shift,
                attr_u,
                order,
                requires,
                follows,
                buck,
                cap_eff,
                allies,
                chain_u,
                flags,
                pact,
                pent,
            )
            c = coalition_power(act, cap_eff, access, flags, cap_target)
            win = c > c_star
            came = False
            for i in range(P):
                if act[i]:
                    came = True
                    acc_tp[t, i, P_JOIN] += 1.0
                    if in_time[i]:
                        acc_tp[t, i, P_IN_TIME] += 1.0
                    if ent[i]:
                        acc_tp[t, i, P_ENTANGLED] += 1.0
                if pact[i]:
                    acc_tp[t, i, P_PJOIN] += 1.0
                # pivotality: reverse i's choice alone; unless others' access depends on i,
                # that adds or removes i's own power
                if flags[i] & F_HOST:
                    act[i] = not act[i]
                    c_flip = coalition_power(act, cap_eff, access, flags, cap_target)
                    act[i] = not act[i]
                else:
                    f = cap_eff[i]
                    if flags[i] & F_ACCESS:
                        for j in range(P):
                            if not act[j]:
                                f *= access[i, j]
                    c_flip = c - f if act[i] else c + f
                if (c_flip > c_star) != win:
                    acc_tp[t, i, P_PIVOTAL] += 1.0
            if win:
                acc_t[t, T_WIN] += 1.0
                if came:
                    acc_t[t, T_CAME_WON] += 1.0
            if came:
                acc_t[t, T_CAME] += 1.0
            if coalition_power(pact, cap_eff, access, flags, cap_target) > c_star:
                acc_t[t, T_PWIN] += 1.0
            b = int(math.floor((math.log10(c / cap_aggr) - HIST_LO) * scale))
            hist[t, min(max(b, 0), N_BINS - 1)] += 1.0
