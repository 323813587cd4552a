"""Numba kernels: arrays in, accumulators out. Imports numpy and numba, nothing else.

The kernels check nothing: inputs are validated once, in :mod:`forecast.model.beliefs`, and
arrive as the named tuples of :mod:`forecast.model.inputs` (their fields document every shape).
Randomness is drawn before the model runs (one generator per column of a block, see
:mod:`forecast.sampling.sampler` and :mod:`forecast.model.random_numbers`) and handed in as
arrays, so a kernel is a pure function of its inputs and :mod:`forecast.model.reference` can
consume the very same numbers. Every mechanism of the crisis model is one ``inline="always"``
helper here with a twin of the same name in :mod:`forecast.model.reference`; the block loop of
:func:`simulate_block` is the list of their calls.

Shapes: T attack types, P partners, K factors, J institutions, V voters per institution
(padded), W = :data:`LANES`, B histogram bins. Helpers work on the lanes ``0 .. w-1`` of a chunk
of crises, realizations ``r0 + lane`` of the block.

How :func:`simulate_block` is fast:

- It works through a block in chunks of :data:`LANES` crises side by side, as the reference does
  for a whole block: every step of the model is a loop over the chunk's crises ("lanes") with no
  branches in it, which LLVM compiles to SIMD code. The random blocks are read one column at a
  time (1-D slices; the sampler stores them in Fortran order, so a column is contiguous).
- A set of partners (who acts, who was drawn in, who arrived late) is an int64 bit mask per lane,
  bit i for partner i, so at most :data:`MAX_PARTNERS` partners.
- Dependency lists (requires, follows, allies, access) arrive as per-partner index lists
  (:class:`forecast.model.inputs.Network`); partners with none take a one-pass path.
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

from forecast.model.coalition import (
    _bit,
    chain_ganging,
    coalition_power,
    decide,
    outcome,
    pivotality,
    pivotality_deterrence,
)
from forecast.model.jit import JIT
from forecast.model.lanes import INV_LN10, exp_lanes, exp_one, log_one
from forecast.model.war import (
    HELP_ACCESS,
    HELP_ARMS,
    HELP_SANCTIONS,
    N_KINDS,
    N_PH,
    escalation_power,
    help_given,
    help_pivotality,
    odds_root,
    phase_draws,
    phase_ends,
    phase_logodds,
    phase_odds,
    stay_mask,
    war,
)

# Per-type scalar accumulators, by_type[t, .]
T_WIN = 0  # the coalition defeats the attack
T_PWIN = 1  # ... in the world the aggressor perceives
T_CAME = 2  # at least one partner joins
T_CAME_WON = 3  # a partner joins and the coalition wins
T_PIVOTAL_N = 4  # crises on which pivotality is evaluated (see PIVOTAL_CRISES)
T_PWIN_PIV = 5  # ... of them, those the coalition wins in the world the aggressor perceives
T_ESCALATION = 6  # the war crosses the escalation threshold (the war as a process)
N_T = 7

# Per-type, per-partner accumulators, by_partner[t, i, .]
P_JOIN = 0  # partner joins (directly or drawn in)
P_IN_TIME = 1  # ... and arrives before the fait-accompli time
P_ENTANGLED = 2  # ... drawn in through an ally, not by its own commitment
P_PIVOTAL = 3  # won with the partner forced in minus won with it forced out (total effect)
P_PJOIN = 4  # joins in the world the aggressor perceives
P_FLIPS = 5  # the outcome with the partner forced in differs from that with it forced out
# pivotality_deterrence, on the T_PIVOTAL_N crises: the aggressor's perceived world as it is, and
# with the partner known to stay out
P_PJOIN_PIV = 6  # joins in the perceived world
P_PWIN_OUT = 7  # the coalition wins in the perceived world with the partner forced out
P_PWIN_FLIPS = 8  # ... and that outcome differs from the perceived world's as it is
# kinds of help (the war as a process): a partner that fights gives access too
P_ACCESS = 9  # gives access (its bases are open): it fights or grants access
P_ARMS = 10  # gives arms
P_SANCTIONS = 11  # imposes sanctions
# pivotality of the kinds of help (forecast.model.war.help_pivotality), on the T_PIVOTAL_N crises:
# won with the help forced minus won with it withheld, and the crises whose outcome differs
P_PIV_ACCESS = 12  # its bases
P_PIV_ARMS = 13  # its arms
P_FLIPS_ACCESS = 14
P_FLIPS_ARMS = 15
N_TP = 16

# Per-type, per-pair accumulators, by_pair[t, i, j, .]: partner j in the perceived world with
# partner i forced out (pivotality_deterrence, on the T_PIVOTAL_N crises)
PP_PJOIN_OUT = 0  # j joins
PP_PJOIN_FLIPS = 1  # j's choice differs from its choice in the perceived world as it is
N_PP = 2

# Random-number groups of the normal block z and the uniform block u (their offsets are the
# fields of forecast.model.inputs.Columns). The codes also key each column's generator
# (forecast.model.random_numbers.fill_block): never change them.
L_FACTOR = 0  # K factor normals
L_IDIO = 1  # P idiosyncratic normals of resolve
L_DELAY = 2  # P normals of the partners' response delays
L_FA = 3  # 1 normal of the fait-accompli time
L_CONTEST = 4  # 1 uniform: the fighting's outcome
L_ATTR = 5  # P uniforms: attribution
L_ENGAGED = 6  # P uniforms: engaged in another theatre
L_VOTE = 7  # J * V normals: the own part e_v of each institutional vote (see institutions)
L_CHAIN = 8  # P uniforms: chain-ganging
L_PHASE = 9  # K - 1 uniforms: the contests of phases 2 .. K (phase 1 takes L_CONTEST's)
L_RESOLVE = 10  # K uniforms: the target keeps fighting through each phase
L_ESCALATION = 11  # K uniforms: the war crosses the escalation threshold in each phase
L_HELP = 12  # N_KINDS * P normals: the own part e_ic of each partner's help decisions
N_LAYOUT = 13

# Institution rules (Institutions.rule)
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

# Partners' summed power below the smallest normal float counts as none: 1 / a subnormal total
# overflows to inf, and buck-passing's share committed * inf is inf, or nan when nothing is
# committed (a capability factor of 5e-324 reaches it)
MIN_TOTAL_POWER = 2.2250738585072014e-308

# crises processed side by side: each step is a loop over lanes the compiler vectorises. 512 was
# fastest on Taiwan (128: +31 %, 256: +13 %, 384: +8 %, 768: +7 %) and with 16 and 64 partners;
# every loop over partners and lanes pays a fixed cost (alias checks, remainders, calls), and
# longer lanes share it out. The chunk's per-partner arrays still fit in L1 for a few partners.
LANES = 512
# Total-effect pivotality re-runs every partner's decisions twice per partner: on Taiwan that is
# about 2.7 times the rest of the model. It is evaluated on the first PIVOTAL_CRISES crises of
# each block only (counted in T_PIVOTAL_N), which keeps its cost near 7 % of the model with the
# default blocks of 10 000 and its estimate unbiased (those crises are like any other).
# pivotality_deterrence runs on the same crises (common random numbers between its two worlds):
# one more decision pass per partner in the world the aggressor perceives, or none when it
# perceives the world as it is (then the forced-out worlds are pivotality's).
PIVOTAL_CRISES = 256


@njit(inline="always", **JIT)
def contest_success(c, a, m):
    """Contest-success probability c^m / (c^m + a^m) of power c against power a."""
    return 1.0 / (1.0 + math.exp(m * (math.log(a) - math.log(c))))


@njit(inline="always", **JIT)
def winning_power(a, m, u):
    """Power the coalition needs to win a contest whose uniform draw is u.

    C^m / (C^m + A^m) > u  <=>  C > A (u / (1 - u))^(1/m), so one draw decides the outcome for
    every counterfactual coalition by a comparison alone (common random numbers).
    :func:`contest` evaluates it for a chunk of crises at once.
    """
    return a * math.exp(math.log(u / (1.0 - u)) * (1.0 / m))


# ----------------------------------------------------------------------------------------------
# Mechanisms, in the order a crisis meets them (the decision pass, chain-ganging, power and
# pivotality are in forecast.model.coalition)
# ----------------------------------------------------------------------------------------------


@njit(inline="always", **JIT)
def resolve(pa, z, r0, w, cols, x):
    """x (P, W): latent resolve sum_k L_ik g_k + sqrt(1 - |L_i|^2) e_i of each partner."""
    P, K = pa.loadings.shape
    for i in range(P):
        xi, di = x[i], pa.idio[i]
        zc = z[r0 : r0 + w, cols.idio + i]
        for ln in range(w):
            xi[ln] = di * zc[ln]
        for k in range(K):
            lk = pa.loadings[i, k]
            zc = z[r0 : r0 + w, cols.factor + k]
            for ln in range(w):
                xi[ln] += lk * zc[ln]


@njit(inline="always", **JIT)
def other_theatres(pa, u, r0, w, cols, shift, cap_eff):
    """shift, cap_eff (P, W): each partner's probit shift and power after another theatre,
    which engages partner i with probability engaged_probability[i] (uniform below it)."""
    P = pa.cap.shape[0]
    for i in range(P):
        si, ci, cpi = shift[i], cap_eff[i], pa.cap[i]
        for ln in range(w):
            si[ln] = 0.0
            ci[ln] = cpi
        p, factor, sh = pa.engaged_probability[i], pa.engaged_factor[i], pa.engaged_shift[i]
        if cols.engaged < 0 or not p > 0.0:  # never engaged elsewhere (a uniform is never < 0)
            continue
        uc = u[r0 : r0 + w, cols.engaged + i]
        for ln in range(w):
            e = uc[ln] < p
            ci[ln] = ci[ln] * factor if e else ci[ln]
            si[ln] = si[ln] + sh if e else si[ln]


@njit(inline="always", **JIT)
def mandate(rule, k, voters, yes, no, vetoed):
    """Whether an institution's vote (yes, no votes of ``voters``; vetoed) gives a mandate."""
    if rule == RULE_UNANIMITY:
        return yes == voters
    if rule == RULE_CONSENSUS:
        return no == 0
    if rule == RULE_MAJORITY:
        return yes >= k
    return yes >= k and not vetoed


@njit(inline="always", **JIT)
def institutions(ins, thr, x, z, r0, w, cols, shift, gate, n_mandates, s):
    """Votes -> mandate -> shift or gate, in one world (true or perceived).

    Voter v of institution j votes yes iff r = load[j, v] x_i + noise[j, v] e_v < vote_thr,
    abstains iff r < abstain_thr otherwise, else votes no (x_i the resolve of the partner it is,
    e_v its normal in z; load 0 for voters who are not partners): a Gaussian copula of the vote
    and the member's own decision. ``thr`` = (vote_thr, abstain_thr) (J, V), this world's
    probit thresholds. The rule gives a mandate or not; it shifts a member's threshold
    (shift (P, W), added to), or, for a gated member, sets its bit in gate (W,) int64 when there
    is no mandate (its commitment is not triggered). n_mandates (J,) int64 counts the mandates;
    s = (yes, no, vetoed) (W,) int64 scratch.
    """
    vote_thr, abstain_thr = thr
    yes, no, vetoed = s
    J, V = vote_thr.shape
    P = shift.shape[0]
    for ln in range(w):
        gate[ln] = 0
    for j in range(J):
        rule = ins.rule[j]
        if rule == RULE_INDIVIDUAL:
            continue
        nv = ins.voters[j]
        for ln in range(w):
            yes[ln] = 0
            no[ln] = 0
            vetoed[ln] = 0
        for v in range(nv):
            ty, ta = vote_thr[j, v], abstain_thr[j, v]
            rho, sig = ins.load[j, v], ins.noise[j, v]
            xi = x[ins.vote_partner[j, v]]
            zc = z[r0 : r0 + w, cols.vote + j * V + v]
            veto = np.int64(ins.veto[j, v])
            for ln in range(w):
                r = rho * xi[ln] + sig * zc[ln]
                nay = np.int64(not r < ta)  # ta >= ty: a yes is never a no
                yes[ln] += r < ty
                no[ln] += nay
                vetoed[ln] |= veto & nay
        k, cnt = ins.k[j], 0
        for ln in range(w):
            ok = mandate(rule, k, nv, yes[ln], no[ln], vetoed[ln] != 0)
            yes[ln] = ok
            cnt += ok
        n_mandates[j] += cnt
        ms, nms = ins.mandate_shift[j], ins.no_mandate_shift[j]
        for i in range(P):
            if not ins.member[j, i]:
                continue
            if ins.gated[j, i]:
                bit = np.int64(1) << i
                for ln in range(w):
                    gate[ln] |= bit if yes[ln] == 0 else 0
            else:
                si = shift[i]
                for ln in range(w):
                    si[ln] += ms if yes[ln] != 0 else nms


@njit(inline="always", **JIT)
def triggered(gate, w, attributed):
    """attributed (W,) &= ~gate: a gated member without its mandate is not triggered, as if
    it did not recognise the attack."""
    for ln in range(w):
        attributed[ln] &= ~gate[ln]


@njit(inline="always", **JIT)
def timing(pa, tim, z, r0, w, cols, cap_eff, late, fa, logd, keep):
    """Delays against the fait accompli: arrival and fait-accompli times are log-normal with
    mean-preserving noise, compared on the log scale; a partner arriving after the fait accompli
    is marked in late (W,) and its power (cap_eff (P, W)) scaled by the late discount.
    fa (W,): the log fait-accompli time; with ``keep`` the log arrival times go to logd (P, W)
    (the war's phases compare them with their own ends)."""
    P = pa.cap.shape[0]
    s_fa = tim.spread
    for ln in range(w):
        fa[ln] = tim.log_fait_accompli
        late[ln] = 0
    if cols.fait_accompli >= 0:
        zc = z[r0 : r0 + w, cols.fait_accompli]
        for ln in range(w):
            fa[ln] += s_fa * zc[ln] - 0.5 * s_fa * s_fa
    discount = tim.late_discount
    noisy = cols.delay >= 0
    for i in range(P):
        d0, sd = pa.log_delay[i], pa.delay_spread[i]
        ci = cap_eff[i]
        bit = np.int64(1) << i
        zc = z[r0 : r0 + w, (cols.delay if noisy else cols.idio) + i]  # read only if noisy
        di = logd[i] if keep else logd[0]
        for ln in range(w):
            d = d0 + (sd * zc[ln] - 0.5 * sd * sd) if noisy else d0
            if keep:
                di[ln] = d
            lt = not d <= fa[ln]
            late[ln] |= bit if lt else 0
            ci[ln] = ci[ln] * discount if lt else ci[ln]


@njit(inline="always", **JIT)
def total_power_inverse(cap_eff, w, inv_total):
    """inv_total (W,): 1 / the partners' summed power (0 when it is 0), for buck-passing's share
    committed * (1 / total): a multiplication in each decision pass rather than a division; with
    no partner power at all (all late at discount 0, all engaged at factor 0, or a total below
    MIN_TOTAL_POWER) the share is 0."""
    for ln in range(w):
        inv_total[ln] = 0.0
    for i in range(cap_eff.shape[0]):
        ci = cap_eff[i]
        for ln in range(w):
            inv_total[ln] += ci[ln]
    for ln in range(w):
        inv_total[ln] = 1.0 / inv_total[ln] if inv_total[ln] >= MIN_TOTAL_POWER else 0.0


@njit(inline="always", **JIT)
def contest(aggressor, exponent, u, r0, w, cols, c_star):
    """c_star (W,): the power the coalition needs to win each crisis, A (u / (1 - u))^(1/m) for
    its contest uniform u (see :func:`winning_power`), A the aggressor's power and m the contest
    exponent of the attack type; for m = 1 and m = 2, A times the odds or their square root
    (:func:`forecast.model.war.odds_root`, as the war's phases take them)."""
    inv_m = 1.0 / exponent
    uc = u[r0 : r0 + w, cols.contest]
    if exponent == 1.0:
        for ln in range(w):
            c_star[ln] = aggressor * (uc[ln] / (1.0 - uc[ln]))
    elif exponent == 2.0:
        for ln in range(w):
            c_star[ln] = aggressor * np.sqrt(uc[ln] / (1.0 - uc[ln]))
    else:
        for ln in range(w):
            c_star[ln] = aggressor * exp_one(log_one(uc[ln] / (1.0 - uc[ln])) * inv_m)


@njit(inline="always", **JIT)
def attribution(attr_t, u, r0, w, cols, attributed):
    """attributed (W,): bit masks of the partners who recognise the attack, partner i when its
    uniform is below attr_t[i] (P,). Partners who always (>= 1) or never (<= 0) recognise it
    need no uniform (a uniform is in [0, 1)); with no attribution column everyone does."""
    for ln in range(w):
        attributed[ln] = -1
    if cols.attribution < 0:
        return
    P = attr_t.shape[0]
    sure = np.int64(0)
    for i in range(P):
        if attr_t[i] >= 1.0:
            sure |= np.int64(1) << i
    for ln in range(w):
        attributed[ln] = sure
    for i in range(P):
        a = attr_t[i]
        if a >= 1.0 or a <= 0.0:
            continue
        uc = u[r0 : r0 + w, cols.attribution + i]
        bit = np.int64(1) << i
        for ln in range(w):
            attributed[ln] |= bit if uc[ln] < a else 0


@njit(inline="always", **JIT)
def misperception(
    thr_t, expected_t, pa, world, net, u, r0, w, chain_col, cap_target, c_star, scratch, wx
):
    """The aggressor's perceived world: the same crisis (common random numbers) decided with
    its perceived thresholds thr_t and expected commitments expected_t (P,). ``world`` =
    (attributed, x, shift, cap_eff, inv_total) of the world it perceives: the true world's, with
    the shifts and triggers of its perceived votes (see :func:`institutions`); ``scratch`` =
    (s (4, W), pact, pent (W,) int64, f, c2 (W,)); ``wx``: the war in that world (see
    :func:`forecast.model.coalition.outcome`). Writes who acts in that world to pact and what
    decides each crisis to c2, and returns how many of the w crises the coalition wins there."""
    attributed, x, shift, cap_eff, inv_total = world
    s, pact, pent, f, c2 = scratch
    decide(thr_t, expected_t, pa.buck, attributed, x, shift, cap_eff, inv_total, net, w, s, pact)
    chain_ganging(net, u, r0, w, chain_col, pact, pent, s[0], 0)
    outcome(pact, w, cap_eff, net.access, cap_target, f, c2, wx)
    n_win = 0
    for ln in range(w):
        n_win += c2[ln] > c_star[ln]
    return n_win


@njit(inline="always", **JIT)
def tally(act, ent, pact, late, c, c_star, w, n_pwin, by_type, by_partner):
    """Add a chunk's counts for one attack type: by_type (N_T,) and by_partner (N_TP, P)."""
    n_win = n_came = n_came_won = 0
    for ln in range(w):
        win = c[ln] > c_star[ln]
        came = act[ln] != 0
        n_win += win
        n_came += came
        n_came_won += win & came
    by_type[T_WIN] += n_win
    by_type[T_CAME] += n_came
    by_type[T_CAME_WON] += n_came_won
    by_type[T_PWIN] += n_pwin
    join, in_time = by_partner[P_JOIN], by_partner[P_IN_TIME]
    entangled, pjoin = by_partner[P_ENTANGLED], by_partner[P_PJOIN]
    for i in range(join.shape[0]):
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


@njit(inline="always", **JIT)
def same_phases(wr, t0, t1):
    """Whether attack types t0 and t1 have the same phases (numbers and durations)."""
    if wr.n_phases[t0] != wr.n_phases[t1]:
        return False
    for k in range(wr.n_phases[t0]):
        if wr.cum_days[t0, k] != wr.cum_days[t1, k]:
            return False
    return True


@njit(inline="always", **JIT)
def tally_help(act, given, w, by_partner):
    """Add the chunk's kinds of help to by_partner (N_TP, P): access (fighting or bases open),
    arms and sanctions, from given (N_KINDS, W) (:func:`forecast.model.war.help_given`)."""
    acc, arms, sanc = by_partner[P_ACCESS], by_partner[P_ARMS], by_partner[P_SANCTIONS]
    ga, gm, gs = given[HELP_ACCESS], given[HELP_ARMS], given[HELP_SANCTIONS]
    for i in range(acc.shape[0]):
        k1 = k2 = k3 = 0
        for ln in range(w):
            k1 += ((act[ln] | ga[ln]) >> i) & 1
            k2 += (gm[ln] >> i) & 1
            k3 += (gs[ln] >> i) & 1
        acc[i] += k1
        arms[i] += k2
        sanc[i] += k3


@njit(inline="always", **JIT)
def histogram(c, inv_aggr, w, bins, h):
    """h (4, N_BINS) += the bins of log10(C / A) of the w crises, lane ln into copy ln & 3
    (consecutive lanes often fall in the same bin, and one copy would chain their increments
    through memory); ratios beyond HIST_CLIP fall in the end bins anyway. bins (W,) int64:
    scratch."""
    scale = N_BINS / (HIST_HI - HIST_LO)
    for ln in range(w):
        lg = log_one(min(max(c[ln] * inv_aggr, HIST_CLIP[0]), HIST_CLIP[1]))
        b = np.int64(np.floor((lg * INV_LN10 - HIST_LO) * scale))
        bins[ln] = min(max(b, 0), N_BINS - 1)
    for ln in range(w):
        h[ln & 3, bins[ln]] += 1


# ----------------------------------------------------------------------------------------------
# The block
# ----------------------------------------------------------------------------------------------


@njit(**JIT)
def simulate_block(inputs, z, u, out):
    """Run one block of crises for one epistemic draw and add its counts to ``out``.

    Parameters
    ----------
    inputs : forecast.model.inputs.Inputs
        The draw's partners, network, institutions, timing, power, random-number columns and war.
    z, u : (n, NZ), (n, NU) the block's normals and uniforms (columns at ``inputs.columns``).
    out : forecast.model.inputs.Tallies
        by_type (T, N_T), by_partner (T, P, N_TP), mandates (J,), hist (T, N_BINS),
        mandates_perc (J,), by_pair (T, P, P, N_PP), by_phase (T, K, N_PH), phase_power (T, K):
        added to.

    The block is worked through in chunks of :data:`LANES` crises; within a chunk each mechanism
    is a loop over the crises, with the partner sets as bit masks, so that the loops compile to
    SIMD code without branches. Counts are kept as integers and added to the accumulators once
    per block. P must be at most :data:`MAX_PARTNERS`.

    Without the war as a process (``inputs.war.general`` false) a crisis is decided by the
    coalition's power against the winning power c_star; with it, :func:`forecast.model.war.war`
    decides it, writing 1.0 or 0.0 where the coalition's power was, and c_star is 0.5, so every
    comparison (tally, misperception, pivotality) reads the war's outcome.
    """
    pa, net, cols, pw = inputs.partners, inputs.network, inputs.columns, inputs.power
    wr = inputs.war
    general = wr.general
    n = z.shape[0]
    T, P = pa.thr.shape
    ins = inputs.institutions
    J = ins.vote_thr.shape[0]
    # the aggressor's votes differ from ours: its world gets its own shifts and gates
    perc = ins.perceived
    if P > MAX_PARTNERS:  # bit masks would silently drop partners
        raise ValueError("simulate_block: more than MAX_PARTNERS partners")
    if out.by_phase.shape[1] < wr.cum_days.shape[1]:  # the counts would be written out of bounds
        raise ValueError("simulate_block: Tallies.by_phase has fewer phases than the war")
    W = LANES
    x, shift, cap_eff = np.empty((P, W)), np.empty((P, W)), np.empty((P, W))
    s = np.empty((4, W))
    inv_total, c_star, fa = np.empty(W), np.empty(W), np.empty(W)
    c, c2, f, y = np.empty(W), np.empty(W), np.empty(W), np.empty(W)
    late, attributed = np.empty(W, dtype=np.int64), np.empty(W, dtype=np.int64)
    act, ent = np.empty(W, dtype=np.int64), np.empty(W, dtype=np.int64)
    pact, pent = np.empty(W, dtype=np.int64), np.empty(W, dtype=np.int64)
    bits, bins = np.empty(W, dtype=np.int64), np.empty(W, dtype=np.int64)
    cnt_t = np.zeros((T, N_T), dtype=np.int64)
    cnt_tp = np.zeros((T, N_TP, P), dtype=np.int64)
    cnt_j, cnt_jp = np.zeros(J, dtype=np.int64), np.zeros(J, dtype=np.int64)
    gate, gate_p = np.empty(W, dtype=np.int64), np.empty(W, dtype=np.int64)
    shift_p, attr_p = np.empty((P, W)) if perc else shift, np.empty(W, dtype=np.int64)
    vote_scratch = (bits, bins, np.empty(W, dtype=np.int64))
    cnt_hist = np.zeros((T, 4, N_BINS), dtype=np.int64)
    cnt_pp = np.zeros((T, N_PP, P, P), dtype=np.int64)
    world = (attributed, x, shift, cap_eff, inv_total)
    pworld = (attr_p, x, shift_p, cap_eff, inv_total) if perc else world
    ain, aout, aent = np.empty(W, dtype=np.int64), np.empty(W, dtype=np.int64), pent
    thr_f, exp_f, c_in, c_out = np.empty(P), np.empty(P), np.empty(W), np.empty(W)
    piv_scratch = (s, thr_f, exp_f, ain, aout, aent, c_in, c_out, f)
    det_scratch = (s, thr_f, exp_f, aout, aent, c_out, f, np.empty(P, dtype=np.int64))
    # the forced-out worlds of pivotality, which pivotality_deterrence reuses
    forced_out = (
        np.empty((P, PIVOTAL_CRISES), dtype=np.int64),
        np.empty((P, PIVOTAL_CRISES)),
    )
    # the war as a process: its arrays are empty when it is off
    K = wr.cum_days.shape[1]
    Wg = W if general else 0
    cap_raw, logd = np.empty((P, Wg)), np.empty((P, Wg))
    log_end, efa = np.empty((K, Wg)), np.empty(Wg)
    q, epow = np.empty((T, K, Wg)), np.zeros((T, K, Wg))  # by attack type
    rpow, lq = np.zeros((K, Wg)), np.empty((K, Wg))
    esc = (np.empty((K, Wg)), np.empty((K, Wg), dtype=np.int64), np.zeros(K, dtype=np.int64))
    may_escalate = np.zeros(W, dtype=np.int64)
    given = np.zeros((N_KINDS, W), dtype=np.int64)
    stay, stay_p = np.zeros(W, dtype=np.int64), np.zeros(W, dtype=np.int64)
    hosts, d1 = np.empty(Wg, dtype=np.int64), np.empty(Wg)
    war_scratch = (
        np.empty((P, Wg)), np.empty((P, Wg)), np.empty(Wg), np.empty(Wg), np.empty(Wg),
        np.empty(Wg), np.empty(Wg), np.empty(Wg), np.empty(Wg, dtype=np.int64),
        np.empty(Wg, dtype=np.int64), np.empty(Wg, dtype=np.int64), np.empty(Wg, dtype=np.int64),
    )  # fmt: skip
    lanes = (
        np.empty(Wg, dtype=np.int64), np.empty((4, Wg), dtype=np.int64), np.empty((P, Wg)),
        np.empty((P, Wg)), np.empty((K, Wg)), np.empty((K, Wg)), np.empty((K, Wg)),
        np.empty((K, Wg)), np.empty(Wg),
    )  # fmt: skip
    cnt_ph = np.zeros((T, K, N_PH), dtype=np.int64)
    sum_power = np.zeros((T, K, Wg), dtype=np.int64)  # lane by lane, in fixed point
    cnt_esc = np.zeros((T, 1), dtype=np.int64)
    cur_a, cur_m = np.nan, np.nan  # the balance c_star was computed for
    # the phases whose contest log-odds some attack type reads (its exponent is not 1 or 2)
    need_logodds = 0
    for t in range(T):
        if not odds_root(wr.exponent[t]):
            need_logodds = max(need_logodds, wr.n_phases[t])
    # the aggressor sees the world of type t as it is (its thresholds, expectations and votes):
    # its world is the true one, and pivotality's forced-out worlds are its
    exact = np.empty(T, dtype=np.bool_)
    for t in range(T):
        same = not perc
        for i in range(P):
            same &= pa.thr_perc[t, i] == pa.thr[t, i]
            same &= pa.expected_perc[t, i] == pa.expected[t, i]
        exact[t] = same
    for r0 in range(0, n, W):
        w = min(W, n - r0)
        resolve(pa, z, r0, w, cols, x)
        other_theatres(pa, u, r0, w, cols, shift, cap_eff)
        if general:  # the power before the late discount: the war's phases apply their own
            for i in range(P):
                for ln in range(w):
                    cap_raw[i, ln] = cap_eff[i, ln]
        if perc:  # before the true votes shift it
            for i in range(P):
                for ln in range(w):
                    shift_p[i, ln] = shift[i, ln]
        institutions(ins, (ins.vote_thr, ins.abstain_thr), x, z, r0, w, cols, shift, gate, cnt_j,
                     vote_scratch)  # fmt: skip
        if perc:
            institutions(ins, (ins.vote_thr_perc, ins.abstain_thr_perc), x, z, r0, w, cols,
                         shift_p, gate_p, cnt_jp, vote_scratch)  # fmt: skip
        timing(pa, inputs.timing, z, r0, w, cols, cap_eff, late, fa, logd, general)
        total_power_inverse(cap_eff, w, inv_total)
        if general:  # the phases' draws: contests, the target's resolve, escalation
            phase_logodds(u, r0, w, cols.contest, cols.phase, lq, need_logodds)
            phase_draws(wr, u, r0, w, cols, y, rpow, esc, may_escalate)
            if K > 1:  # the later phases' ends are exp(fa) + their days
                exp_lanes(fa, w, efa)
        cur_a, cur_m = np.nan, np.nan
        ends_of = -1  # the attack type whose phase ends are in log_end
        for t in range(T):
            a_t, m_t = wr.aggressor[t], wr.exponent[t]
            if general:
                for ln in range(w):
                    c_star[ln] = 0.5
                if ends_of < 0 or not same_phases(wr, ends_of, t):
                    phase_ends(wr, t, fa, efa, w, log_end)
                    ends_of = t
                phase_odds(wr, t, lq, u, r0, w, cols, q)
                if wr.escalation > 0.0:
                    escalation_power(wr, t, esc, w, y, epow)
            elif not (a_t == cur_a and m_t == cur_m):  # this type's balance
                contest(a_t, m_t, u, r0, w, cols, c_star)
                cur_a, cur_m = a_t, m_t
            attribution(pa.attribution[t], u, r0, w, cols, attributed)
            if perc:
                for ln in range(w):
                    attr_p[ln] = attributed[ln]
                triggered(gate_p, w, attr_p)
            triggered(gate, w, attributed)
            decide(
                pa.thr[t], pa.expected[t], pa.buck, attributed, x, shift, cap_eff, inv_total, net,
                w, s, act,
            )  # fmt: skip
            chain_ganging(net, u, r0, w, cols.chain, act, ent, s[0], 0)
            if general:
                help_given(wr, attributed, x, z, r0, w, cols.help, given)
            if general and wr.escalation > 0.0:  # otherwise nobody is asked to stay
                stay_mask(pa.thr[t], shift, x, wr.escalation_shift, w, stay)
                stay_mask(pa.thr_perc[t], shift_p, x, wr.escalation_shift, w, stay_p)
            ctx = (net.access, pw.target, a_t, inputs.timing.late_discount)
            arrays = (cap_raw, logd, log_end, q[t], rpow, epow[t])
            off = (False, cnt_ph[t], sum_power[t], cnt_esc[t], d1)
            extra, arms_mask = given[HELP_ACCESS], given[HELP_ARMS]
            if general:  # the true world's war first: the other worlds are variants of it
                for ln in range(w):
                    hosts[ln] = act[ln] | extra[ln]
                war(wr, t, (act, hosts, arms_mask, stay), arrays, ctx, war_scratch, w, c,
                    (True, cnt_ph[t], sum_power[t], cnt_esc[t], d1))  # fmt: skip
            else:
                coalition_power(act, 0, w, cap_eff, net.access, pw.target, f, c)
            parts = (general, wr, t, extra, arms_mask)
            rest = (hosts, arrays, ctx, war_scratch, off)
            wx = (*parts, stay, *rest, (act, c, stay, may_escalate), lanes)
            wx_m = (*parts, stay_p, *rest, (act, c, stay, may_escalate), lanes)
            wx_p = (*parts, stay_p, *rest, (pact, c2, stay_p, may_escalate), lanes)
            if exact[t]:
                n_pwin = 0
                for ln in range(w):
                    pact[ln] = act[ln]
                    c2[ln] = c[ln]
                    n_pwin += c[ln] > c_star[ln]
            else:
                n_pwin = misperception(
                    pa.thr_perc[t], pa.expected_perc[t], pa, pworld, net, u, r0, w, cols.chain,
                    pw.target, c_star, (s, pact, pent, f, c2), wx_m,
                )  # fmt: skip
            if r0 == 0:  # the block's first PIVOTAL_CRISES crises
                wp = min(w, PIVOTAL_CRISES)
                pivotality(
                    pa.thr[t], pa.expected[t], pa.attribution[t], pa.buck, world, net, u, r0, wp,
                    cols.chain, act, c, c_star, pw.target, piv_scratch, cnt_tp[t, P_PIVOTAL],
                    cnt_tp[t, P_FLIPS], forced_out, wx,
                )  # fmt: skip
                # in the world misperception decided in (pact, and c2 its outcome)
                cnt_t[t, T_PWIN_PIV] += pivotality_deterrence(
                    pa.thr_perc[t], pa.expected_perc[t], pa.buck, pworld, net, u, r0, wp,
                    cols.chain, pact, c2, c_star, pw.target, det_scratch,
                    (cnt_tp[t, P_PJOIN_PIV], cnt_tp[t, P_PWIN_OUT], cnt_tp[t, P_PWIN_FLIPS],
                     cnt_pp[t, PP_PJOIN_OUT], cnt_pp[t, PP_PJOIN_FLIPS]), exact[t], forced_out,
                    wx_p,
                )  # fmt: skip
                if general:  # bases and arms apart from troops (c_in, c_out, ain, aout are free)
                    help_pivotality(
                        wr, t, net.host, (act, extra, arms_mask, stay), attributed, arrays, ctx,
                        war_scratch, lanes, off, wp, c, (ain, aout, c_in, c_out),
                        (cnt_tp[t, P_PIV_ACCESS : P_PIV_ARMS + 1],
                         cnt_tp[t, P_FLIPS_ACCESS : P_FLIPS_ARMS + 1]),
                    )  # fmt: skip
                cnt_t[t, T_PIVOTAL_N] += wp
            tally(act, ent, pact, late, c, c_star, w, n_pwin, cnt_t[t], cnt_tp[t])
            if general:
                tally_help(act, given, w, cnt_tp[t])
                histogram(d1, 1.0 / a_t, w, bins, cnt_hist[t])
            else:
                histogram(c, 1.0 / a_t, w, bins, cnt_hist[t])
    for t in range(T):
        if not general:  # the fighters are the hosts
            for i in range(P):
                cnt_tp[t, P_ACCESS, i] = cnt_tp[t, P_JOIN, i]
        cnt_t[t, T_ESCALATION] += cnt_esc[t, 0]
        for k in range(N_T):
            out.by_type[t, k] += cnt_t[t, k]
        for k in range(N_TP):
            for i in range(P):
                out.by_partner[t, i, k] += cnt_tp[t, k, i]
        for k in range(N_PP):
            for i in range(P):
                for j in range(P):
                    out.by_pair[t, i, j, k] += cnt_pp[t, k, i, j]
        for b in range(N_BINS):
            out.hist[t, b] += (
                cnt_hist[t, 0, b] + cnt_hist[t, 1, b] + cnt_hist[t, 2, b] + cnt_hist[t, 3, b]
            )
        for kk in range(K):
            for j in range(N_PH):
                out.by_phase[t, kk, j] += cnt_ph[t, kk, j]
            total = np.int64(0)
            for ln in range(Wg):
                total += sum_power[t, kk, ln]
            out.phase_power[t, kk] += total
    for j in range(J):
        out.mandates[j] += cnt_j[j]
        out.mandates_perc[j] += cnt_jp[j] if perc else cnt_j[j]
