"""Numba kernels: arrays in, accumulators out. Imports numpy and numba, nothing else.

The kernels check nothing: inputs are validated once, in :mod:`forecast.beliefs`. Randomness is
drawn outside (one generator per unit of work, see :mod:`forecast.sampler`) and handed in as
arrays, so a kernel is a pure function of its inputs and :mod:`forecast.reference` can consume
the very same numbers. Every public name here has a twin in :mod:`forecast.reference`.

Shapes: T attack types, P partners, K factors, J institutions, V voters per institution
(padded), n realizations in the block, B histogram bins.

Inside :func:`simulate_block` a set of partners (who acts, who was drawn in, who arrived late)
is an int64 bit mask, bit i for partner i, so at most :data:`MAX_PARTNERS` partners. Dependency
lists (requires, follows, allies, access) are turned into per-partner index lists once per block;
index arrays are uint32 so numba drops its negative-index wraparound on every lookup. Every
float is computed in the order :mod:`forecast.reference` computes it: skipping a term is done only
where it would add 0 or multiply by 1, so the counts stay exactly equal.
"""

import math

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

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

MAX_PARTNERS = 64  # partner sets are int64 bit masks


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


@njit(**JIT)
def _index_lists(a, skip):
    """Per-row lists of the columns of a (P, Q) whose entry is not ``skip``, in column order.

    Returns ptr (P + 1,) and idx (nnz,), both uint32: row i's columns are idx[ptr[i]:ptr[i+1]].
    """
    P, Q = a.shape
    ptr = np.zeros(P + 1, dtype=np.uint32)
    idx = np.empty(P * Q, dtype=np.uint32)
    n = 0
    for i in range(P):
        for j in range(Q):
            if a[i, j] != skip:
                idx[n] = j
                n += 1
        ptr[i + 1] = n
    return ptr, idx[:n]


@njit(**JIT)
def _row_masks(ptr, idx):
    """(P,) int64 bit mask of each row's list in (ptr, idx)."""
    P = ptr.shape[0] - 1
    out = np.zeros(P, dtype=np.int64)
    for i in range(P):
        for e in range(ptr[i], ptr[i + 1]):
            out[i] |= np.int64(1) << idx[e]
    return out


@njit(inline="always", **JIT)
def partner_power(i, act, cap_eff, access, acc_ptr, acc_idx):
    """Partner i's power: its capability scaled by access[i, j] for every j not in ``act``.

    Only the j listed in (acc_ptr, acc_idx) have access[i, j] != 1; the others multiply by 1.
    """
    f = cap_eff[i]
    for e in range(acc_ptr[i], acc_ptr[i + 1]):
        j = acc_idx[e]
        if not (act >> j) & 1:
            f *= access[i, j]
    return f


@njit(inline="always", **JIT)
def coalition_power(act, cap_eff, access, acc_ptr, acc_idx, cap_target):
    """Target's power plus that of every partner in the bit mask ``act``, in index order."""
    c = cap_target
    rest = act
    while rest != 0:
        i = trailing_zeros(rest)
        rest &= ~(np.int64(1) << i)
        f = cap_eff[i]
        for e in range(acc_ptr[i], acc_ptr[i + 1]):
            j = acc_idx[e]
            if not (act >> j) & 1:
                f *= access[i, j]
        c += f
    return c


@njit(inline="always", **JIT)
def decide(thr, t, attributed, x, shift, cap, total, net, chain_u, r, chain_col):
    """Partners' decisions in dependency order, then chain-ganging, for attack type t.

    thr (T, P) probit thresholds (true or perceived); attributed: bit mask of the partners who
    recognise the attack; x, shift, cap (P,) latent resolve, probit shifts that do not depend on
    others (mandates, other theatres), capabilities; total: their sum; ``net``: the block's
    dependency lists (see :func:`simulate_block`); chain_u: the uniform block, row r, chain-ganging
    columns from chain_col (-1: none). Returns bit masks (acting, drawn in through an ally).
    """
    order, req, fol_ptr, fol_idx, follows, buck, chainers, ally_ptr, ally_idx, allies, ally_mask = (
        net[:11]
    )
    chain_mask, ally_union = net[11], net[12]
    # with no partner power at all (all late at discount 0, or all engaged at factor 0) nothing
    # is committed: the share is 0, not 0 / 0
    has_power = total > 0.0
    act = np.int64(0)
    committed = 0.0
    for k in range(order.shape[0]):
        i = order[k]
        th = thr[t, i]
        for e in range(fol_ptr[i], fol_ptr[i + 1]):
            j = fol_idx[e]
            if (act >> j) & 1:
                th += follows[i, j]
        if buck[i] != 0.0 and has_power:  # otherwise the term is exactly 0
            th -= buck[i] * (committed / total)
        th += shift[i]
        if (attributed >> i) & 1 and (req[i] & ~act) == 0 and x[i] < th:
            act |= np.int64(1) << i
            committed += cap[i]
    ent = np.int64(0)
    if chain_col < 0 or (chain_mask & ~act) == 0 or (ally_union & act) == 0:
        return act, ent
    changed = True
    while changed:
        changed = False
        for k in range(chainers.shape[0]):
            i = chainers[k]
            # no acting ally: q = 1 and nobody is drawn in (a uniform is never < 0)
            if (act >> i) & 1 or (ally_mask[i] & act) == 0:
                continue
            q = 1.0
            for e in range(ally_ptr[i], ally_ptr[i + 1]):
                j = ally_idx[e]
                if (act >> j) & 1:
                    q *= 1.0 - allies[i, j]
            if chain_u[r, chain_col + i] < 1.0 - q:
                act |= np.int64(1) << i
                ent |= np.int64(1) << i
                changed = True
    return act, ent


@njit(**JIT)
def _network(order, requires, follows, buck, allies):
    """The dependency lists :func:`decide` walks, built once per block (see its ``net``)."""
    req_ptr, req_idx = _index_lists(requires, False)
    fol_ptr, fol_idx = _index_lists(follows, 0.0)
    ally_ptr, ally_idx = _index_lists(allies, 0.0)
    ally_mask = _row_masks(ally_ptr, ally_idx)
    order = order.astype(np.uint32)
    chainers = np.empty(order.shape[0], dtype=np.uint32)  # partners with allies, in order
    n = 0
    chain_mask = np.int64(0)
    ally_union = np.int64(0)
    for k in range(order.shape[0]):
        i = order[k]
        if ally_mask[i] != 0:
            chainers[n] = i
            n += 1
            chain_mask |= np.int64(1) << i
            ally_union |= ally_mask[i]
    return (
        order,
        _row_masks(req_ptr, req_idx),
        fol_ptr,
        fol_idx,
        follows,
        buck,
        chainers[:n],
        ally_ptr,
        ally_idx,
        allies,
        ally_mask,
        chain_mask,
        ally_union,
    )


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
    flags : (P,) int64 bits F_* (only F_HOST is read: pivotality by recomputing the coalition).
    log_delay, delay_spread : (P,) log response delay (-inf: none) and its aleatory log-sd.
    timing : (3,) log fait-accompli time (inf: none), its aleatory log-sd, late discount.
    inst_vote, inst_abstain : (J, V) P(yes), P(abstain | not yes); inst_member : (J, P) bool;
    inst_rule : (J, 3) rule code, k, number of voters; inst_veto : (J, V) bool;
    inst_shift : (J, 2) probit shift of members with / without a mandate.
    power : (3,) target's power, aggressor's power, contest exponent m.
    layout : (N_LAYOUT,) int64 column offsets into z (n, NZ) and u (n, NU), -1 when absent.
    acc_t (T, N_T), acc_tp (T, P, N_TP), acc_j (J,), hist (T, N_BINS): added to in place.

    P must be at most :data:`MAX_PARTNERS`.
    """
    n = z.shape[0]
    T, P = thr.shape
    K = loadings.shape[1]
    J, V = inst_vote.shape
    if P > MAX_PARTNERS:  # the one check: bit masks would silently drop partners
        raise ValueError("simulate_block: more than MAX_PARTNERS partners")
    cap_target, cap_aggr, m = power[0], power[1], power[2]
    net = _network(order, requires, follows, buck, allies)
    acc_ptr, acc_idx = _index_lists(access, 1.0)
    x = np.empty(P)
    shift = np.empty(P)
    cap_eff = np.empty(P)
    scale = N_BINS / (HIST_HI - HIST_LO)
    c_factor, c_idio, c_delay, c_fa = (
        layout[L_FACTOR],
        layout[L_IDIO],
        layout[L_DELAY],
        layout[L_FA],
    )
    c_contest, c_attr, c_engaged = layout[L_CONTEST], layout[L_ATTR], layout[L_ENGAGED]
    c_vote, c_chain = layout[L_VOTE], layout[L_CHAIN]
    for r in range(n):
        for i in range(P):
            xi = idio[i] * z[r, c_idio + i]
            for k in range(K):
                xi += loadings[i, k] * z[r, c_factor + k]
            x[i] = xi
            shift[i] = 0.0
            cap_eff[i] = cap[i]
        if c_engaged >= 0:
            for i in range(P):
                if u[r, c_engaged + i] < engaged[i, 0]:
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
                uv = u[r, c_vote + j * V + v]
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
        if c_fa >= 0:
            s = timing[1]
            fa += s * z[r, c_fa] - 0.5 * s * s
        late = np.int64(0)
        for i in range(P):
            d = log_delay[i]
            if c_delay >= 0:
                s = delay_spread[i]
                d += s * z[r, c_delay + i] - 0.5 * s * s
            if not d <= fa:
                late |= np.int64(1) << i
                cap_eff[i] *= timing[2]
        total = 0.0
        for i in range(P):
            total += cap_eff[i]
        c_star = winning_power(cap_aggr, m, u[r, c_contest])
        seen = np.int64(-1)  # the coalition whose power, outcome and pivots were last computed
        c, win, pivotal, b = 0.0, False, np.int64(0), 0
        for t in range(T):
            attributed = np.int64(-1)
            if c_attr >= 0:
                attributed = np.int64(0)
                for i in range(P):
                    if u[r, c_attr + i] < attribution[t, i]:
                        attributed |= np.int64(1) << i
            act, ent = decide(thr, t, attributed, x, shift, cap_eff, total, net, u, r, c_chain)
            pact, _ = decide(thr_perc, t, attributed, x, shift, cap_eff, total, net, u, r, c_chain)
            if act != seen:  # attack types often end in the same coalition: reuse its results
                seen = act
                c = coalition_power(act, cap_eff, access, acc_ptr, acc_idx, cap_target)
                win = c > c_star
                # pivotality: reverse i's choice alone; unless others' access depends on i,
                # that adds or removes i's own power
                pivotal = np.int64(0)
                for i in range(P):
                    bit = np.int64(1) << i
                    if flags[i] & F_HOST:
                        c_flip = coalition_power(
                            act ^ bit, cap_eff, access, acc_ptr, acc_idx, cap_target
                        )
                    elif act & bit:
                        c_flip = c - partner_power(i, act, cap_eff, access, acc_ptr, acc_idx)
                    else:
                        c_flip = c + partner_power(i, act, cap_eff, access, acc_ptr, acc_idx)
                    if (c_flip > c_star) != win:
                        pivotal |= bit
                b = int(math.floor((math.log10(c / cap_aggr) - HIST_LO) * scale))
                b = min(max(b, 0), N_BINS - 1)
            if pact == act:
                pwin = win
            else:
                pwin = coalition_power(pact, cap_eff, access, acc_ptr, acc_idx, cap_target) > c_star
            for i in range(P):
                acc_tp[t, i, P_JOIN] += (act >> i) & 1
                acc_tp[t, i, P_IN_TIME] += (act & ~late) >> i & 1
                acc_tp[t, i, P_ENTANGLED] += (ent >> i) & 1
                acc_tp[t, i, P_PIVOTAL] += (pivotal >> i) & 1
                acc_tp[t, i, P_PJOIN] += (pact >> i) & 1
            came = act != 0
            acc_t[t, T_WIN] += win
            acc_t[t, T_CAME_WON] += win and came
            acc_t[t, T_CAME] += came
            acc_t[t, T_PWIN] += pwin
            hist[t, b] += 1.0
