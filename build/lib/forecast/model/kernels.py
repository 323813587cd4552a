"""Numba kernels: arrays in, accumulators out. Imports numpy and numba, nothing else.

The kernels check nothing: inputs are validated once, in :mod:`forecast.model.beliefs`. Randomness
is
drawn before the model runs (one generator per column of a block, see
:mod:`forecast.sampling.sampler`
and :mod:`forecast.model.random_numbers`) and handed in as arrays, so a kernel is a pure function of
its inputs and :mod:`forecast.model.reference` can consume the very same numbers. Every public name
here has a twin in :mod:`forecast.model.reference`.

Shapes: T attack types, P partners, K factors, J institutions, V voters per institution
(padded), n realizations in the block, B histogram bins.

How :func:`simulate_block` is fast:

- It works through a block in chunks of :data:`LANES` crises side by side, as the reference does
  for a whole block: every step of the model is a loop over the chunk's crises ("lanes") with no
  branches in it, which LLVM compiles to SIMD code. The random blocks are read one column at a
  time (1-D slices; the sampler stores them in Fortran order, so a column is contiguous).
- A set of partners (who acts, who was drawn in, who arrived late) is an int64 bit mask per lane,
  bit i for partner i, so at most :data:`MAX_PARTNERS` partners.
- Dependency lists (requires, follows, allies, access) are turned into per-partner index lists
  once per block (uint32, so numba drops its negative-index wraparound); partners with none take
  a one-pass path.
- log and exp are fdlibm's algorithms in plain arithmetic (:func:`log_lanes`, :func:`exp_lanes`),
  which vectorise where a libm call would not.
- Counts are kept as integers and added to the float accumulators once per block.

Every float is computed in the order :mod:`forecast.model.reference` computes it, and the reference
evaluates the same log and exp arithmetic: skipping a term is done only where it would add 0 or
multiply by 1, so the counts stay exactly equal.
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

# Columns of the normal-number block z and the uniform block u (offsets in ``layout``; -1 absent).
# The codes also key each column's generator (forecast.model.random_numbers.fill_block): never
# change
# them.
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
HIST_CLIP = (1e-3, 1e3)  # C / A is clipped to this before its logarithm (beyond the end bins)

MAX_PARTNERS = 64  # partner sets are int64 bit masks


@njit(inline="always", **JIT)
def contest(c, a, m):
    """Contest-success probability c^m / (c^m + a^m) of power c against power a."""
    return 1.0 / (1.0 + math.exp(m * (math.log(a) - math.log(c))))


@njit(inline="always", **JIT)
def winning_power(a, m, u):
    """Power the coalition needs to win a contest whose uniform draw is u.

    C^m / (C^m + A^m) > u  <=>  C > A (u / (1 - u))^(1/m), so one draw decides the outcome for
    every counterfactual coalition by a comparison alone (common random numbers).
    :func:`simulate_block` evaluates it for a chunk of crises at once with :func:`log_lanes` and
    :func:`exp_lanes`.
    """
    return a * math.exp(math.log(u / (1.0 - u)) * (1.0 / m))


# log and exp for loops over lanes. libm's are calls, which keep a loop from being vectorised;
# these are fdlibm's algorithms (error under 1 ulp) in plain arithmetic, so they vectorise, and
# forecast.model.reference evaluates the very same arithmetic on numpy arrays (same results to the
# bit).
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
INV_LN10 = 0.43429448190325182765
LG1, LG2, LG3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
LG4, LG5 = 2.222219843214978396e-01, 1.818357216161805012e-01
LG6, LG7 = 1.531383769920937332e-01, 1.479819860511658591e-01
EP1, EP2 = 1.66666666666666019037e-01, -2.77777777770155933842e-03
EP3, EP4 = 6.61375632143793436117e-05, -1.65339022054652515390e-06
EP5 = 4.13813679705723846039e-08
SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # bits of sqrt(1/2)
MANTISSA = (1 << 52) - 1
EXP_LO, EXP_HI = -708.0, 709.0  # exp's argument is clamped here: 2^k stays a normal number
TINY = 1e-300  # log's argument is clamped up to this (a positive normal number)


@njit(inline="always", **JIT)
def log_poly(f, k):
    """log((1 + f) 2^k) for 1 + f in [sqrt(1/2), sqrt(2)): fdlibm's __ieee754_log."""
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (LG2 + w * (LG4 + w * LG6))
    t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    r = t2 + t1
    return k * LN2_HI - ((hfsq - (s * (hfsq + r) + k * LN2_LO)) - f)


@njit(inline="always", **JIT)
def exp_poly(x, k):
    """exp(x) / 2^k for k = round(x / log 2): fdlibm's __ieee754_exp."""
    hi = x - k * LN2_HI
    lo = k * LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (EP1 + t * (EP2 + t * (EP3 + t * (EP4 + t * EP5))))
    return 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)


@njit(inline="always", **JIT)
def log_lanes(y, w, bits, out):
    """out[:w] = log(y[:w]) after y[:w] is clamped up to TINY in place; bits: int64 scratch."""
    m = bits.view(np.float64)
    yi = y.view(np.int64)
    for ln in range(w):
        y[ln] = max(y[ln], TINY)
    for ln in range(w):
        ix = yi[ln] - SQRT_HALF_BITS
        bits[ln] = (ix & MANTISSA) + SQRT_HALF_BITS
        out[ln] = np.float64(ix >> 52)
    for ln in range(w):
        out[ln] = log_poly(m[ln] - 1.0, out[ln])


@njit(inline="always", **JIT)
def exp_lanes(x, w, bits, out):
    """out[:w] = exp(x[:w]), x clamped to [EXP_LO, EXP_HI]; bits: (>= w,) int64 scratch."""
    scale = bits.view(np.float64)
    for ln in range(w):
        xl = min(max(x[ln], EXP_LO), EXP_HI)
        k = np.floor(xl * INV_LN2 + 0.5)
        out[ln] = exp_poly(xl, k)
        bits[ln] = (np.int64(k) + 1023) << 52
    for ln in range(w):
        out[ln] = out[ln] * scale[ln]


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
def _bit(masks, ln, j):
    """Bit j of lane ln's mask, as 0 or 1."""
    return (masks[ln] >> j) & 1


@njit(**JIT)
def partner_power(i, act, flip, w, cap_eff, access, acc_ptr, acc_idx, out):
    """out[:w]: partner i's power in each lane, its capability scaled by access[i, j] for
    every j not in that lane's set ``act ^ flip`` (only the j in (acc_ptr, acc_idx) have
    access != 1).
    """
    ci = cap_eff[i]
    for ln in range(w):
        out[ln] = ci[ln]
    for e in range(acc_ptr[i], acc_ptr[i + 1]):
        j = acc_idx[e]
        a = access[i, j]
        for ln in range(w):
            out[ln] = out[ln] if ((act[ln] ^ flip) >> j) & 1 else out[ln] * a


@njit(**JIT)
def coalition_power(act, flip, w, cap_eff, access, acc_ptr, acc_idx, cap_target, f, out):
    """out[:w]: target's power plus that of every partner in each lane's set ``act ^ flip``,
    in index order (flip: a mask of partners whose choice is reversed, 0 for none).

    A partner's power is scaled by access[i, j] for every j not in the set; partners with no
    access entry, or one, take a single pass. f is (W,) scratch.
    """
    P = cap_eff.shape[0]
    for ln in range(w):
        out[ln] = cap_target
    for i in range(P):
        ci = cap_eff[i]
        e0, e1 = acc_ptr[i], acc_ptr[i + 1]
        if e1 == e0:  # full access: the partner's own power
            for ln in range(w):
                out[ln] = out[ln] + ci[ln] if ((act[ln] ^ flip) >> i) & 1 else out[ln]
        elif e1 == e0 + 1:  # one partner j it needs
            j = acc_idx[e0]
            a = access[i, j]
            for ln in range(w):
                m = act[ln] ^ flip
                fl = ci[ln] if (m >> j) & 1 else ci[ln] * a
                out[ln] = out[ln] + fl if (m >> i) & 1 else out[ln]
        else:
            partner_power(i, act, flip, w, cap_eff, access, acc_ptr, acc_idx, f)
            for ln in range(w):
                out[ln] = out[ln] + f[ln] if ((act[ln] ^ flip) >> i) & 1 else out[ln]


@njit(inline="always", **JIT)
def decide(
    thr, t, attributed, x, shift, cap, inv_total, net, chain_u, r0, chain_col, w, s, act, ent
):
    """Partners' decisions in dependency order, then chain-ganging, for attack type t.

    Works on the lanes 0..w-1 of a chunk of crises (realizations r0 + lane). thr (T, P) probit
    thresholds (true or perceived); attributed (W,) bit masks of the partners who recognise the
    attack; x, shift, cap (P, W) latent resolve, probit shifts that do not depend on others
    (mandates, other theatres), capabilities; inv_total (W,) 1 / their sum over partners (0 when
    the sum is 0); ``net``: the
    block's dependency lists (see :func:`simulate_block`); chain_u: the uniform block,
    chain-ganging columns from chain_col (-1: none); s (2, W) scratch. Writes the bit masks of
    who acts and who was drawn in through an ally to act and ent (W,).
    """
    order, req, fol_ptr, fol_idx, follows, buck, chainers, ally_ptr, ally_idx, allies = net[:10]
    cascade = net[10]
    th, committed = s[0], s[1]
    for ln in range(w):
        act[ln] = 0
        ent[ln] = 0
        committed[ln] = 0.0
    for k in range(order.shape[0]):
        i = order[k]
        base = thr[t, i]
        b = buck[i]
        rq = req[i]
        xi, si, ci = x[i], shift[i], cap[i]
        if fol_ptr[i + 1] == fol_ptr[i]:  # follows nobody: the whole step in one pass
            if b == 0.0:  # the buck-passing term is exactly 0
                for ln in range(w):
                    a = _bit(attributed, ln, i) == 1
                    ok = a & ((rq & ~act[ln]) == 0) & (xi[ln] < base + si[ln])
                    act[ln] |= np.int64(ok) << i
                    committed[ln] = committed[ln] + ci[ln] if ok else committed[ln]
            else:
                for ln in range(w):
                    share = committed[ln] * inv_total[ln]
                    a = _bit(attributed, ln, i) == 1
                    ok = a & ((rq & ~act[ln]) == 0) & (xi[ln] < (base - b * share) + si[ln])
                    act[ln] |= np.int64(ok) << i
                    committed[ln] = committed[ln] + ci[ln] if ok else committed[ln]
            continue
        for ln in range(w):
            th[ln] = base
        for e in range(fol_ptr[i], fol_ptr[i + 1]):
            j = fol_idx[e]
            fv = follows[i, j]
            for ln in range(w):
                th[ln] = th[ln] + fv if _bit(act, ln, j) else th[ln]
        if b != 0.0:  # otherwise the term is exactly 0
            for ln in range(w):
                th[ln] = th[ln] - b * (committed[ln] * inv_total[ln])
        for ln in range(w):
            a = _bit(attributed, ln, i) == 1
            ok = a & ((rq & ~act[ln]) == 0) & (xi[ln] < th[ln] + si[ln])
            act[ln] |= np.int64(ok) << i
            committed[ln] = committed[ln] + ci[ln] if ok else committed[ln]
    if chain_col < 0 or chainers.shape[0] == 0:
        return
    q = th
    changed = True
    while changed:
        changed = False
        for k in range(chainers.shape[0]):
            i = chainers[k]
            drawn = 0
            col = chain_col + i
            e0 = ally_ptr[i]
            if ally_ptr[i + 1] == e0 + 1:  # one ally j: q = 1 - allies[i, j] if j acts, else 1
                j = ally_idx[e0]
                fac = 1.0 * (1.0 - allies[i, j])
                cu = chain_u[r0 : r0 + w, col]
                for ln in range(w):
                    ql = fac if _bit(act, ln, j) else 1.0
                    new = (_bit(act, ln, i) == 0) & (cu[ln] < 1.0 - ql)
                    act[ln] |= np.int64(new) << i
                    ent[ln] |= np.int64(new) << i
                    drawn += new
                if drawn and (cascade >> i) & 1:
                    changed = True
                continue
            for ln in range(w):
                q[ln] = 1.0
            for e in range(ally_ptr[i], ally_ptr[i + 1]):
                j = ally_idx[e]
                fac = 1.0 - allies[i, j]
                for ln in range(w):
                    q[ln] = q[ln] * fac if _bit(act, ln, j) else q[ln]
            cu = chain_u[r0 : r0 + w, col]
            for ln in range(w):
                # no acting ally: q = 1 and nobody is drawn in (a uniform is never < 0)
                new = (_bit(act, ln, i) == 0) & (cu[ln] < 1.0 - q[ln])
                act[ln] |= np.int64(new) << i
                ent[ln] |= np.int64(new) << i
                drawn += new
            # another pass can change something only if someone drawn in is an ally of a
            # chainer: otherwise every q, and so every outcome, would repeat
            if drawn and (cascade >> i) & 1:
                changed = True


@njit(**JIT)
def _network(order, requires, follows, buck, allies):
    """The dependency lists :func:`decide` walks, built once per block (see its ``net``)."""
    req_ptr, req_idx = _index_lists(requires, False)
    fol_ptr, fol_idx = _index_lists(follows, 0.0)
    ally_ptr, ally_idx = _index_lists(allies, 0.0)
    order = order.astype(np.uint32)
    chainers = np.empty(order.shape[0], dtype=np.uint32)  # partners with allies, in order
    n = 0
    cascade = np.int64(0)  # partners who are some chainer's ally
    for k in range(order.shape[0]):
        i = order[k]
        if ally_ptr[i + 1] > ally_ptr[i]:
            chainers[n] = i
            n += 1
            for e in range(ally_ptr[i], ally_ptr[i + 1]):
                cascade |= np.int64(1) << ally_idx[e]
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
        cascade,
    )


# crises processed side by side: each step is a loop over lanes the compiler vectorises. 512 was
# fastest on Taiwan (128: +31 %, 256: +13 %, 384: +8 %, 768: +7 %) and with 16 and 64 partners;
# every loop over partners and lanes pays a fixed cost (alias checks, remainders, calls), and
# longer lanes share it out. The chunk's per-partner arrays still fit in L1 for a few partners.
LANES = 512


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

    The block is worked through in chunks of :data:`LANES` crises; within a chunk each step of
    the model is a loop over the crises, with the partner sets as bit masks, so that the loops
    compile to SIMD code without branches. Counts are kept as integers and added to the
    accumulators once per block. P must be at most :data:`MAX_PARTNERS`.
    """
    n = z.shape[0]
    T, P = thr.shape
    K = loadings.shape[1]
    J, V = inst_vote.shape
    if P > MAX_PARTNERS:  # the one check: bit masks would silently drop partners
        raise ValueError("simulate_block: more than MAX_PARTNERS partners")
    W = LANES
    cap_target, cap_aggr, m = power[0], power[1], power[2]
    inv_m, inv_aggr = 1.0 / m, 1.0 / cap_aggr
    net = _network(order, requires, follows, buck, allies)
    acc_ptr, acc_idx = _index_lists(access, 1.0)
    x = np.empty((P, W))
    shift = np.empty((P, W))
    cap_eff = np.empty((P, W))
    s = np.empty((2, W))
    inv_total = np.empty(W)  # partner power's sum, then its reciprocal
    c_star = np.empty(W)
    fa = np.empty(W)
    c = np.empty(W)
    c2 = np.empty(W)
    f = np.empty(W)
    late = np.empty(W, dtype=np.int64)
    attributed = np.empty(W, dtype=np.int64)
    act = np.empty(W, dtype=np.int64)
    ent = np.empty(W, dtype=np.int64)
    pact = np.empty(W, dtype=np.int64)
    pent = np.empty(W, dtype=np.int64)  # drawn in, perceived world (not counted)
    y = np.empty(W)
    bits = np.empty(W, dtype=np.int64)
    bins = np.empty(W, dtype=np.int64)
    cnt_t = np.zeros((T, N_T), dtype=np.int64)
    cnt_tp = np.zeros((T, N_TP, P), dtype=np.int64)
    cnt_j = np.zeros(J, dtype=np.int64)
    # four copies of each histogram, lane by lane in turn: consecutive lanes often fall in the
    # same bin, and one copy would chain their increments through memory
    cnt_hist = np.zeros((T, 4, N_BINS), dtype=np.int64)
    scale = N_BINS / (HIST_HI - HIST_LO)
    c_factor, c_idio, c_delay, c_fa = (
        layout[L_FACTOR],
        layout[L_IDIO],
        layout[L_DELAY],
        layout[L_FA],
    )
    c_contest, c_attr, c_engaged = layout[L_CONTEST], layout[L_ATTR], layout[L_ENGAGED]
    c_vote, c_chain = layout[L_VOTE], layout[L_CHAIN]
    for r0 in range(0, n, W):
        w = min(W, n - r0)
        for i in range(P):
            xi, si, ci = x[i], shift[i], cap_eff[i]
            di, cpi = idio[i], cap[i]
            zc = z[r0 : r0 + w, c_idio + i]
            for ln in range(w):
                xi[ln] = di * zc[ln]
                si[ln] = 0.0
                ci[ln] = cpi
            for k in range(K):
                lk = loadings[i, k]
                zc = z[r0 : r0 + w, c_factor + k]
                for ln in range(w):
                    xi[ln] += lk * zc[ln]
        if c_engaged >= 0:
            for i in range(P):
                p, factor, sh = engaged[i, 0], engaged[i, 1], engaged[i, 2]
                if not p > 0.0:  # never engaged elsewhere (a uniform is never < 0)
                    continue
                si, ci = shift[i], cap_eff[i]
                uc = u[r0 : r0 + w, c_engaged + i]
                for ln in range(w):
                    e = uc[ln] < p
                    ci[ln] = ci[ln] * factor if e else ci[ln]
                    si[ln] = si[ln] + sh if e else si[ln]
        for j in range(J):
            rule = int(inst_rule[j, 0])
            if rule == RULE_INDIVIDUAL:
                continue
            nv = int(inst_rule[j, 2])
            for ln in range(w):
                yes = 0
                no = 0
                vetoed = False
                for v in range(nv):
                    uv = u[r0 + ln, c_vote + j * V + v]
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
                    mandate = yes == nv
                elif rule == RULE_CONSENSUS:
                    mandate = no == 0
                elif rule == RULE_MAJORITY:
                    mandate = yes >= inst_rule[j, 1]
                else:
                    mandate = yes >= inst_rule[j, 1] and not vetoed
                cnt_j[j] += mandate
                sh = inst_shift[j, 0] if mandate else inst_shift[j, 1]
                for i in range(P):
                    if inst_member[j, i]:
                        shift[i, ln] += sh
        # arrival and fait accompli compared on the log scale: log-normal, mean-preserving noise
        s_fa = timing[1]
        for ln in range(w):
            fa[ln] = timing[0]
            late[ln] = 0
            inv_total[ln] = 0.0
        if c_fa >= 0:
            zc = z[r0 : r0 + w, c_fa]
            for ln in range(w):
                fa[ln] += s_fa * zc[ln] - 0.5 * s_fa * s_fa
        discount = timing[2]
        for i in range(P):
            d0, sd = log_delay[i], delay_spread[i]
            ci = cap_eff[i]
            bit = np.int64(1) << i
            zc = z[r0 : r0 + w, (c_delay if c_delay >= 0 else c_idio) + i]  # read if c_delay >= 0
            for ln in range(w):
                d = d0 + (sd * zc[ln] - 0.5 * sd * sd) if c_delay >= 0 else d0
                lt = not d <= fa[ln]
                late[ln] |= bit if lt else 0
                ci[ln] = ci[ln] * discount if lt else ci[ln]
            for ln in range(w):
                inv_total[ln] += ci[ln]
        # share of partner power committed = committed / total, as committed * (1 / total) (a
        # multiplication in each decide rather than a division); with no partner power at all
        # (all late at discount 0, or all engaged at factor 0) nothing is committed: share 0
        for ln in range(w):
            inv_total[ln] = 1.0 / inv_total[ln] if inv_total[ln] > 0.0 else 0.0
        # the power needed to win, A (u / (1 - u))^(1/m) (see winning_power), for every lane
        uc = u[r0 : r0 + w, c_contest]
        for ln in range(w):
            y[ln] = uc[ln] / (1.0 - uc[ln])
        log_lanes(y, w, bits, c_star)
        for ln in range(w):
            c_star[ln] = c_star[ln] * inv_m
        exp_lanes(c_star, w, bits, y)
        for ln in range(w):
            c_star[ln] = cap_aggr * y[ln]
        for t in range(T):
            for ln in range(w):
                attributed[ln] = -1
            if c_attr >= 0:
                # partners who always (a >= 1) or never (a <= 0) recognise this type need no
                # uniform: a uniform is in [0, 1)
                sure = np.int64(0)
                for i in range(P):
                    if attribution[t, i] >= 1.0:
                        sure |= np.int64(1) << i
                for ln in range(w):
                    attributed[ln] = sure
                for i in range(P):
                    a = attribution[t, i]
                    if a >= 1.0 or a <= 0.0:
                        continue
                    uc = u[r0 : r0 + w, c_attr + i]
                    bit = np.int64(1) << i
                    for ln in range(w):
                        attributed[ln] |= bit if uc[ln] < a else 0
            decide(
                thr,
                t,
                attributed,
                x,
                shift,
                cap_eff,
                inv_total,
                net,
                u,
                r0,
                c_chain,
                w,
                s,
                act,
                ent,
            )
            decide(
                thr_perc,
                t,
                attributed,
                x,
                shift,
                cap_eff,
                inv_total,
                net,
                u,
                r0,
                c_chain,
                w,
                s,
                pact,
                pent,
            )
            coalition_power(act, 0, w, cap_eff, access, acc_ptr, acc_idx, cap_target, f, c)
            # pivotality: reverse i's choice alone; unless others' access depends on i, that adds
            # or removes i's own power
            piv = cnt_tp[t, P_PIVOTAL]
            for i in range(P):
                if flags[i] & F_HOST:
                    bit = np.int64(1) << i
                    coalition_power(
                        act, bit, w, cap_eff, access, acc_ptr, acc_idx, cap_target, f, c2
                    )
                elif acc_ptr[i + 1] == acc_ptr[i]:  # full access: add or remove its own power
                    ci = cap_eff[i]
                    k = 0
                    for ln in range(w):
                        cf = c[ln] - ci[ln] if _bit(act, ln, i) else c[ln] + ci[ln]
                        k += (cf > c_star[ln]) != (c[ln] > c_star[ln])
                    piv[i] += k
                    continue
                else:
                    partner_power(i, act, 0, w, cap_eff, access, acc_ptr, acc_idx, f)
                    for ln in range(w):
                        c2[ln] = c[ln] - f[ln] if _bit(act, ln, i) else c[ln] + f[ln]
                k = 0
                for ln in range(w):
                    k += (c2[ln] > c_star[ln]) != (c[ln] > c_star[ln])
                piv[i] += k
            coalition_power(pact, 0, w, cap_eff, access, acc_ptr, acc_idx, cap_target, f, c2)
            n_win = n_came = n_came_won = n_pwin = 0
            for ln in range(w):
                win = c[ln] > c_star[ln]
                came = act[ln] != 0
                n_win += win
                n_came += came
                n_came_won += win & came
                n_pwin += c2[ln] > c_star[ln]
            cnt_t[t, T_WIN] += n_win
            cnt_t[t, T_CAME] += n_came
            cnt_t[t, T_CAME_WON] += n_came_won
            cnt_t[t, T_PWIN] += n_pwin
            join, in_time = cnt_tp[t, P_JOIN], cnt_tp[t, P_IN_TIME]
            entangled, pjoin = cnt_tp[t, P_ENTANGLED], cnt_tp[t, P_PJOIN]
            for i in range(P):
                k1 = k2 = k3 = k4 = 0
                for ln in range(w):
                    k1 += _bit(act, ln, i)
                    k2 += ((act[ln] & ~late[ln]) >> i) & 1
                    k3 += _bit(ent, ln, i)
                    k4 += _bit(pact, ln, i)
                join[i] += k1
                in_time[i] += k2
                entangled[i] += k3
                pjoin[i] += k4
            # histogram bin of log10(C / A); ratios beyond the clip fall in the end bins anyway
            for ln in range(w):
                y[ln] = min(max(c[ln] * inv_aggr, HIST_CLIP[0]), HIST_CLIP[1])
            log_lanes(y, w, bits, c2)
            for ln in range(w):
                b = np.int64(np.floor((c2[ln] * INV_LN10 - HIST_LO) * scale))
                bins[ln] = min(max(b, 0), N_BINS - 1)
            h = cnt_hist[t]
            for ln in range(w):
                h[ln & 3, bins[ln]] += 1
    for t in range(T):
        for k in range(N_T):
            acc_t[t, k] += cnt_t[t, k]
        for k in range(N_TP):
            for i in range(P):
                acc_tp[t, i, k] += cnt_tp[t, k, i]
        for b in range(N_BINS):
            hist[t, b] += (
                cnt_hist[t, 0, b] + cnt_hist[t, 1, b] + cnt_hist[t, 2, b] + cnt_hist[t, 3, b]
            )
    for j in range(J):
        acc_j[j] += cnt_j[j]
