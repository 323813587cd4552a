"""The crisis model in plain vectorised numpy: the readable specification and the test oracle.

Mirrors the numba helpers of :mod:`forecast.model.kernels` and :mod:`forecast.model.coalition`
name for name, vectorised over the n realizations of a block (arrays (n, P) where the kernel
keeps (P, W) lanes, bool arrays where it keeps bit masks). It consumes the same pre-drawn random
numbers in the same arithmetic order and takes its log and exp from the same fdlibm arithmetic
(:func:`log_`, :func:`exp_`), so integer counts agree with the kernel exactly. The inputs are the
named tuples of :mod:`forecast.model.inputs`, whose fields give every shape.

One crisis, for each attack type t:

1. :func:`resolve`: latent resolve x_i = sum_k L_ik g_k + sqrt(1 - |L_i|^2) e_i.
2. :func:`other_theatres`: another theatre engages partner i with probability
   engaged_probability[i]; its power is scaled by engaged_factor[i], its threshold shifted by
   engaged_shift[i].
3. :func:`institutions`: each institution votes, each partner's vote driven by its own resolve
   (a Gaussian copula); a mandate (or its absence) shifts members' thresholds, or, for a member
   whose willingness is a calibrated P(honour), decides whether its commitment is triggered
   (:func:`triggered`). The aggressor's world votes on the willingness it perceives.
4. :func:`timing`: arrival and fait-accompli times are log-normal around the draw's values
   (compared on the log scale); a partner arriving after the fait accompli counts at the late
   discount.
5. :func:`contest`: the coalition wins iff its power exceeds A (u / (1 - u))^(1/m) for the
   crisis's contest uniform u, i.e. with probability C^m / (C^m + A^m).
6. :func:`attribution`: partner i recognises attack type t when its uniform < attribution[t, i].
7. :func:`decide`: partners decide level by level of the dependency graph: i acts iff it
   attributes the attack, every partner it requires acts, and x_i < threshold, where threshold =
   Phi^-1(w_it) + sum of follows[i, j] over acting j - buck[i] * share + shifts; share is the
   power committed by earlier levels plus that the same level's peers are expected to commit
   (expected_t[j] cap_j), over the partners' total.
8. :func:`chain_ganging`: a partner not acting is drawn in with probability
   1 - prod_j (1 - allies[i, j]) over acting allies j, until nothing changes.
9. :func:`coalition_power`: the target's power plus the acting partners', each scaled by
   access[i, j] for every partner j that does not act.
10. :func:`misperception`: the same crisis replayed with the aggressor's perceived thresholds.
11. :func:`pivotality`: the total effect of each partner, the crises won with it forced in
    minus those won with it forced out, every other partner deciding again.
12. :func:`pivotality_deterrence`: the aggressor's perceived world with each partner known to
    stay out, every other partner deciding again on the perceived thresholds.
13. :func:`forecast.model.reference_war.help_pivotality`: with the war as a process, the total
    effect of each partner's bases and of its arms, its troops as they are.
14. :func:`tally`, :func:`histogram`: the counts.
"""

import numpy as np

from forecast.model import lanes, reference_war
from forecast.model.kernels import (
    HIST_CLIP,
    HIST_HI,
    HIST_LO,
    MIN_TOTAL_POWER,
    N_BINS,
    P_ACCESS,
    P_ARMS,
    P_ENTANGLED,
    P_FLIPS,
    P_FLIPS_ACCESS,
    P_FLIPS_ARMS,
    P_IN_TIME,
    P_JOIN,
    P_PIV_ACCESS,
    P_PIV_ARMS,
    P_PIVOTAL,
    P_PJOIN,
    P_PJOIN_PIV,
    P_PWIN_FLIPS,
    P_PWIN_OUT,
    P_SANCTIONS,
    PIVOTAL_CRISES,
    PP_PJOIN_FLIPS,
    PP_PJOIN_OUT,
    RULE_CONSENSUS,
    RULE_INDIVIDUAL,
    RULE_MAJORITY,
    RULE_UNANIMITY,
    T_CAME,
    T_CAME_WON,
    T_ESCALATION,
    T_PIVOTAL_N,
    T_PWIN,
    T_PWIN_PIV,
    T_WIN,
)
from forecast.model.war import HELP_ACCESS, HELP_ARMS, HELP_SANCTIONS


def log_(y):
    """Elementwise log of max(y, TINY): the arithmetic of :func:`forecast.model.lanes.log_lanes`."""
    y = np.maximum(np.asarray(y, dtype=np.float64), lanes.TINY)
    ix = y.view(np.int64) - lanes.SQRT_HALF_BITS
    m = ((ix & lanes.MANTISSA) + lanes.SQRT_HALF_BITS).view(np.float64)
    return lanes.log_poly.py_func(m - 1.0, (ix >> 52).astype(np.float64))


def exp_(x):
    """Elementwise exp, the argument clamped: the arithmetic of :func:`lanes.exp_lanes`."""
    x = np.minimum(np.maximum(np.asarray(x, dtype=np.float64), lanes.EXP_LO), lanes.EXP_HI)
    k = np.floor(x * lanes.INV_LN2 + 0.5)
    return lanes.exp_poly.py_func(x, k) * ((k.astype(np.int64) + 1023) << 52).view(np.float64)


def contest_success(c, a, m):
    """Contest-success probability c^m / (c^m + a^m), elementwise."""
    return 1.0 / (1.0 + np.exp(m * (np.log(a) - np.log(c))))


def winning_power(a, m, u):
    """Power needed to win a contest whose uniform draw is u: A (u / (1 - u))^(1/m)."""
    return a * exp_(log_(u / (1.0 - u)) * (1.0 / m))


def _bits(masks, P):
    """(P,) int64 bit masks -> (P, P) bool, row i bit j."""
    return ((np.asarray(masks)[:, None] >> np.arange(P)) & 1).astype(bool)


# ----------------------------------------------------------------------------------------------
# Mechanisms
# ----------------------------------------------------------------------------------------------


def resolve(pa, z, cols):
    """(n, P) latent resolve of each partner."""
    P, K = pa.loadings.shape
    x = pa.idio * z[:, cols.idio : cols.idio + P]
    for k in range(K):
        x = x + pa.loadings[:, k] * z[:, cols.factor + k : cols.factor + k + 1]
    return x


def other_theatres(pa, u, cols):
    """shift, cap_eff (n, P): probit shifts and powers after other theatres."""
    n, P = u.shape[0], pa.cap.shape[0]
    shift = np.zeros((n, P))
    cap_eff = np.tile(pa.cap, (n, 1)).astype(float)
    if cols.engaged >= 0:
        eng = u[:, cols.engaged : cols.engaged + P] < pa.engaged_probability
        cap_eff = np.where(eng, cap_eff * pa.engaged_factor, cap_eff)
        shift = np.where(eng, shift + pa.engaged_shift, shift)
    return shift, cap_eff


def mandate(rule, k, voters, yes, no, vetoed):
    """(n,) bool: whether the votes (yes, no (n,) counts; vetoed (n,) bool) give a mandate."""
    if rule == RULE_UNANIMITY:
        return yes == voters
    if rule == RULE_CONSENSUS:
        return no == 0
    if rule == RULE_MAJORITY:
        return yes >= k
    return (yes >= k) & ~vetoed


def institutions(ins, thr, x, z, cols, shift, mandates):
    """shift (n, P) after every institution's vote in one world, and gate (n, P) bool: gated
    members without a mandate (their commitment is not triggered); adds the mandates to
    mandates (J,). ``thr`` = (vote_thr, abstain_thr) (J, V): the world's probit thresholds.

    Voter v votes yes iff r = load x_i + noise e_v < vote_thr (a Gaussian copula with the
    member's resolve x_i), abstains iff r < abstain_thr otherwise, else votes no.
    """
    vote_thr, abstain_thr = thr
    n, P = x.shape
    J, V = vote_thr.shape
    shift = shift.copy()
    gate = np.zeros((n, P), dtype=bool)
    for j in range(J):
        rule = int(ins.rule[j])
        if rule == RULE_INDIVIDUAL:
            continue
        nv = int(ins.voters[j])
        yes = np.zeros(n, dtype=np.int64)
        no = np.zeros(n, dtype=np.int64)
        vetoed = np.zeros(n, dtype=bool)
        for v in range(nv):
            e = z[:, cols.vote + j * V + v]
            r = ins.load[j, v] * x[:, ins.vote_partner[j, v]] + ins.noise[j, v] * e
            nay = ~(r < abstain_thr[j, v])
            yes += r < vote_thr[j, v]
            no += nay
            if ins.veto[j, v]:
                vetoed |= nay
        ok = mandate(rule, ins.k[j], nv, yes, no, vetoed)
        mandates[j] += ok.sum()
        for i in range(P):
            if not ins.member[j, i]:
                continue
            if ins.gated[j, i]:
                gate[:, i] |= ~ok
            else:
                shift[:, i] = shift[:, i] + np.where(
                    ok, ins.mandate_shift[j], ins.no_mandate_shift[j]
                )
    return shift, gate


def timing(pa, tim, z, cols, cap_eff):
    """cap_eff (n, P) after the late discount, late (n, P) bool, the log arrival times d (n, P)
    and the log fait-accompli times fa (n,)."""
    n, P = z.shape[0], pa.cap.shape[0]
    fa = np.full(n, float(tim.log_fait_accompli))
    if cols.fait_accompli >= 0:
        s = tim.spread
        fa = fa + (s * z[:, cols.fait_accompli] - 0.5 * s * s)
    d = np.tile(pa.log_delay, (n, 1)).astype(float)
    if cols.delay >= 0:
        s = pa.delay_spread
        d = d + (s * z[:, cols.delay : cols.delay + P] - 0.5 * s * s)
    late = ~(d <= fa[:, None])
    return np.where(late, cap_eff * tim.late_discount, cap_eff), late, d, fa


def total_power_inverse(cap_eff):
    """(n,) 1 / the partners' summed power, 0 where it is below MIN_TOTAL_POWER (buck-passing's
    share is then 0)."""
    total = np.zeros(cap_eff.shape[0])
    for i in range(cap_eff.shape[1]):
        total = total + cap_eff[:, i]
    return np.divide(1.0, total, out=np.zeros_like(total), where=total >= MIN_TOTAL_POWER)


def contest(aggressor, exponent, u, cols):
    """(n,) the power the coalition needs to win each crisis (the type's balance); for m = 1
    and m = 2 from the odds or their square root (the kernel's twin)."""
    uc = u[:, cols.contest]
    if exponent == 1.0:
        return aggressor * (uc / (1.0 - uc))
    if exponent == 2.0:
        return aggressor * np.sqrt(uc / (1.0 - uc))
    return winning_power(aggressor, exponent, uc)


def outcome(members, cap, access, target, wx):
    """(n,) what decides each crisis for the coalition ``members`` (n, P): its power, or with
    the war as a process the war's outcome 1.0 / 0.0 (see the kernel's twin). ``wx`` = None
    (no process) or (wr, t, extra_hosts, arms_mask, stay, ctx) of
    :func:`forecast.model.reference_war.war`."""
    if wx is None:
        return coalition_power(members, cap, access, target)
    wr, t, extra, arms_mask, stay, ctx = wx
    return reference_war.war(wr, t, members, members | extra, arms_mask, stay, ctx)[0]


def attribution(attr_t, u, cols):
    """(n, P) bool: who recognises the attack (attr_t (P,) the probabilities)."""
    n, P = u.shape[0], attr_t.shape[0]
    if cols.attribution < 0:
        return np.ones((n, P), dtype=bool)
    return u[:, cols.attribution : cols.attribution + P] < attr_t


def triggered(gate, attributed):
    """(n, P) bool: attributed, less the gated members without their mandate (gate (n, P))."""
    return attributed & ~gate


def decide(thr_t, expected_t, buck, attributed, x, shift, cap, inv_total, net):
    """(n, P) bool: who acts after the decision pass, level by level of ``net.levels``;
    buck-passing on the earlier levels' commitments and the peers' expected ones."""
    n, P = x.shape
    requires = _bits(net.requires, P)
    act = np.zeros((n, P), dtype=bool)
    committed = np.zeros(n)
    for lev in range(len(net.levels) - 1):
        members = net.order[net.levels[lev] : net.levels[lev + 1]]
        peers = np.zeros(n)
        if any(buck[i] != 0.0 for i in members):
            for i in members:
                peers = peers + expected_t[i] * cap[:, i]
        gained = np.zeros(n)
        for i in members:
            ok = attributed[:, i].copy()
            for j in range(P):
                if requires[i, j]:
                    ok &= act[:, j]
            t = np.full(n, float(thr_t[i]))
            for j in range(P):
                t = np.where(act[:, j], t + net.follows.value[i, j], t)
            if buck[i] != 0.0:
                share = (committed + (peers - expected_t[i] * cap[:, i])) * inv_total
                t = t - buck[i] * share
            a = ok & (x[:, i] < t + shift[:, i])
            act[:, i] = a
            gained = np.where(a, gained + cap[:, i], gained)
        committed = committed + gained
    return act


def chain_ganging(net, u, col, act, blocked=()):
    """act, ent (n, P) bool after chain-ganging (ent: drawn in through an ally); the partners
    in ``blocked`` cannot be drawn in."""
    act = act.copy()
    ent = np.zeros_like(act)
    if col < 0:
        return act, ent
    P = act.shape[1]
    chain_u = u[:, col : col + P]
    changed = True
    while changed:
        changed = False
        for i in net.chainers:
            if i in blocked:
                continue
            q = np.ones(act.shape[0])
            for j in range(P):
                q = np.where(act[:, j], q * (1.0 - net.allies.value[i, j]), q)
            new = ~act[:, i] & (chain_u[:, i] < 1.0 - q)
            if new.any():
                act[:, i] |= new
                ent[:, i] |= new
                changed = True
    return act, ent


def partner_power(i, act, cap_eff, access):
    """(n,) power partner i brings: its capability scaled by the access it lacks."""
    f = cap_eff[:, i].copy()
    for e in range(access.ptr[i], access.ptr[i + 1]):
        j = access.idx[e]
        f = np.where(~act[:, j], f * access.value[i, j], f)
    return f


def coalition_power(act, cap_eff, access, cap_target):
    """(n,) target's power plus acting partners' (act, cap_eff: (n, P)), scaled by access."""
    n, P = act.shape
    c = np.full(n, float(cap_target))
    for i in range(P):
        c = np.where(act[:, i], c + partner_power(i, act, cap_eff, access), c)
    return c


def pivotality(thr_t, expected_t, attr_t, buck, world, net, u, chain_col, act, c, c_star, target,
               wx=None):  # fmt: skip
    """piv, flips (P,): crises won with partner i forced in minus those won with it forced out,
    every other partner deciding again, and the crises whose outcome differs."""
    attributed, x, shift, cap, inv_total = world
    P = cap.shape[1]
    piv, flips = np.zeros(P, dtype=np.int64), np.zeros(P, dtype=np.int64)
    for i in range(P):
        if net.rerun[i]:
            worlds = []
            for forced, e, blocked in ((np.inf, attr_t[i], ()), (-np.inf, 0.0, (i,))):
                thr, exp = thr_t.copy(), expected_t.copy()
                thr[i], exp[i] = forced, e
                a = decide(thr, exp, buck, attributed, x, shift, cap, inv_total, net)
                a, _ = chain_ganging(net, u, chain_col, a, blocked)
                worlds.append(outcome(a, cap, net.access, target, wx))
            c_in, c_out = worlds
        elif net.host[i] or wx is not None:
            ain, aout = act.copy(), act.copy()
            ain[:, i] |= attributed[:, i]
            aout[:, i] = False
            c_in = outcome(ain, cap, net.access, target, wx)
            c_out = outcome(aout, cap, net.access, target, wx)
        else:
            f = partner_power(i, act, cap, net.access)
            c_in = np.where(attributed[:, i] & ~act[:, i], c + f, c)
            c_out = np.where(act[:, i], c - f, c)
        win_in, win_out = c_in > c_star, c_out > c_star
        piv[i] = win_in.sum() - win_out.sum()
        flips[i] = (win_in != win_out).sum()
    return piv, flips


def pivotality_deterrence(thr_t, expected_t, buck, world, net, u, chain_col, pact, c_perc, c_star,
                          target, wx=None):  # fmt: skip
    """The perceived world (thresholds thr_t, expected commitments expected_t (P,); who acts
    there, pact (n, P) bool, and the coalition's power c_perc (n,)) with each partner i forced
    out: unwilling, not drawn in, expected to commit nothing, every other partner deciding again.

    Returns n_win, the crises the coalition wins in the perceived world as it is; pjoin (P,),
    who joins there; pwin_out, pwin_flips (P,): wins with i out, and crises whose outcome
    differs from the perceived world's; pjoin_out, pjoin_flips (P, P): row i, who joins with i
    out, and whose choice differs from the perceived world's.
    """
    attributed, x, shift, cap, inv_total = world
    P = cap.shape[1]
    base = c_perc > c_star
    pwin_out, pwin_flips = np.zeros(P, dtype=np.int64), np.zeros(P, dtype=np.int64)
    pjoin_out, pjoin_flips = np.zeros((P, P), dtype=np.int64), np.zeros((P, P), dtype=np.int64)
    for i in range(P):
        if net.rerun[i]:
            thr, exp = thr_t.copy(), expected_t.copy()
            thr[i], exp[i] = -np.inf, 0.0
            a = decide(thr, exp, buck, attributed, x, shift, cap, inv_total, net)
            a, _ = chain_ganging(net, u, chain_col, a, (i,))
            c_out = outcome(a, cap, net.access, target, wx)
        else:
            a = pact.copy()
            a[:, i] = False
            if net.host[i] or wx is not None:
                c_out = outcome(a, cap, net.access, target, wx)
            else:
                f = partner_power(i, pact, cap, net.access)
                c_out = np.where(pact[:, i], c_perc - f, c_perc)
        won = c_out > c_star
        pwin_out[i], pwin_flips[i] = won.sum(), (won != base).sum()
        pjoin_out[i], pjoin_flips[i] = a.sum(axis=0), (a != pact).sum(axis=0)
    return int(base.sum()), pact.sum(axis=0), pwin_out, pwin_flips, pjoin_out, pjoin_flips


def misperception(thr_t, expected_t, pa, world, net, u, chain_col, cap_target, c_star, wx=None):
    """pact (n, P) bool and the number of wins in the aggressor's perceived world;
    world = (attributed, x, shift, cap_eff, inv_total) of that world: the true one's, with the
    shifts and triggers of its perceived votes."""
    attributed, x, shift, cap_eff, inv_total = world
    pact = decide(thr_t, expected_t, pa.buck, attributed, x, shift, cap_eff, inv_total, net)
    pact, _ = chain_ganging(net, u, chain_col, pact)
    c2 = outcome(pact, cap_eff, net.access, cap_target, wx)
    return pact, int((c2 > c_star).sum()), c2


def tally(act, ent, pact, late, c, c_star, n_pwin, by_type, by_partner):
    """Add one attack type's counts to by_type (N_T,) and by_partner (P, N_TP)."""
    win = c > c_star
    came = act.any(axis=1)
    by_type[T_WIN] += win.sum()
    by_type[T_CAME] += came.sum()
    by_type[T_CAME_WON] += (win & came).sum()
    by_type[T_PWIN] += n_pwin
    by_partner[:, P_JOIN] += act.sum(axis=0)
    by_partner[:, P_IN_TIME] += (act & ~late).sum(axis=0)
    by_partner[:, P_ENTANGLED] += ent.sum(axis=0)
    by_partner[:, P_PJOIN] += pact.sum(axis=0)


def histogram(c, inv_aggr, h):
    """h (N_BINS,) += the bins of log10(C / A), C / A clipped to HIST_CLIP."""
    scale = N_BINS / (HIST_HI - HIST_LO)
    ratio = np.minimum(np.maximum(c * inv_aggr, HIST_CLIP[0]), HIST_CLIP[1])
    b = np.floor((log_(ratio) * lanes.INV_LN10 - HIST_LO) * scale).astype(np.int64)
    np.add.at(h, np.clip(b, 0, N_BINS - 1), 1.0)


def simulate_block(inputs, z, u, out):
    """Vectorised twin of :func:`forecast.model.kernels.simulate_block` (same arguments)."""
    pa, net, cols, pw = inputs.partners, inputs.network, inputs.columns, inputs.power
    ins, wr = inputs.institutions, inputs.war
    x = resolve(pa, z, cols)
    shift, cap_eff = other_theatres(pa, u, cols)
    cap_raw = cap_eff
    theatres, m_true, m_perc = shift, np.zeros_like(out.mandates), np.zeros_like(out.mandates)
    shift, gate = institutions(ins, (ins.vote_thr, ins.abstain_thr), x, z, cols, theatres,
                               m_true)  # fmt: skip
    if ins.perceived:  # the aggressor's votes: the same crises, its perceived thresholds
        shift_p, gate_p = institutions(ins, (ins.vote_thr_perc, ins.abstain_thr_perc), x, z,
                                       cols, theatres, m_perc)  # fmt: skip
    else:
        shift_p, gate_p, m_perc = shift, gate, m_true
    out.mandates[:] += m_true
    out.mandates_perc[:] += m_perc
    cap_eff, late, logd, fa = timing(pa, inputs.timing, z, cols, cap_eff)
    inv_total = total_power_inverse(cap_eff)
    m = min(u.shape[0], PIVOTAL_CRISES)  # the block's first crises (see kernels)
    for t in range(pa.thr.shape[0]):
        a_t, m_t = wr.aggressor[t], wr.exponent[t]
        recognised = attribution(pa.attribution[t], u, cols)
        attributed = triggered(gate, recognised)
        act = decide(
            pa.thr[t], pa.expected[t], pa.buck, attributed, x, shift, cap_eff, inv_total, net
        )
        act, ent = chain_ganging(net, u, cols.chain, act)
        world = (attributed, x, shift, cap_eff, inv_total)
        pworld = (triggered(gate_p, recognised), x, shift_p, cap_eff, inv_total)
        wx = wx_p = None
        if wr.general:
            c_star = np.full(u.shape[0], 0.5)
            given = reference_war.help_given(wr, attributed, x, z, cols.help)
            q = reference_war.phase_odds(wr, t, u, cols.contest, cols.phase, 1.0 / m_t)
            ctx = (cap_raw, logd, reference_war.phase_ends(wr, t, fa), q, u, cols, net.access,
                   pw.target, a_t, m_t, inputs.timing.late_discount)  # fmt: skip
            stay = reference_war.stay_mask(pa.thr[t], shift, x, wr.escalation_shift)
            stay_p = reference_war.stay_mask(pa.thr_perc[t], shift_p, x, wr.escalation_shift)
            wx = (wr, t, given[HELP_ACCESS], given[HELP_ARMS], stay, ctx)
            wx_p = (wr, t, given[HELP_ACCESS], given[HELP_ARMS], stay_p, ctx)
        else:
            c_star = contest(a_t, m_t, u, cols)
        pact, n_pwin, c_perc_all = misperception(
            pa.thr_perc[t], pa.expected_perc[t], pa, pworld, net, u, cols.chain, pw.target,
            c_star, wx_p,
        )  # fmt: skip
        if wr.general:
            rec = (out.by_phase[t], out.phase_power[t], out.by_type[t, T_ESCALATION:])
            c, d1 = reference_war.war(wr, t, act, act | given[HELP_ACCESS], given[HELP_ARMS],
                                      stay, ctx, rec)  # fmt: skip
        else:
            c = coalition_power(act, cap_eff, net.access, pw.target)
            d1 = c

        def first(w):  # the world's arrays on the first m crises
            return None if w is None else (*w[:2], *(a[:m] for a in w[2:5]), _first_ctx(w[5], m))

        piv, flips = pivotality(
            pa.thr[t], pa.expected[t], pa.attribution[t], pa.buck, tuple(a[:m] for a in world),
            net, u[:m], cols.chain, act[:m], c[:m], c_star[:m], pw.target, first(wx),
        )  # fmt: skip
        out.by_type[t, T_PIVOTAL_N] += m
        out.by_partner[t, :, P_PIVOTAL] += piv
        out.by_partner[t, :, P_FLIPS] += flips
        n_win, pjoin, pwin_out, pwin_flips, pjoin_out, pjoin_flips = pivotality_deterrence(
            pa.thr_perc[t], pa.expected_perc[t], pa.buck, tuple(a[:m] for a in pworld), net,
            u[:m], cols.chain, pact[:m], c_perc_all[:m], c_star[:m], pw.target, first(wx_p),
        )  # fmt: skip
        out.by_type[t, T_PWIN_PIV] += n_win
        out.by_partner[t, :, P_PJOIN_PIV] += pjoin
        out.by_partner[t, :, P_PWIN_OUT] += pwin_out
        out.by_partner[t, :, P_PWIN_FLIPS] += pwin_flips
        out.by_pair[t, :, :, PP_PJOIN_OUT] += pjoin_out
        out.by_pair[t, :, :, PP_PJOIN_FLIPS] += pjoin_flips
        if wr.general:  # bases and arms apart from troops
            hp, hf = reference_war.help_pivotality(
                wr, t, net.host, act[:m], given[HELP_ACCESS][:m], given[HELP_ARMS][:m], stay[:m],
                attributed[:m], _first_ctx(ctx, m),
            )  # fmt: skip
            out.by_partner[t, :, P_PIV_ACCESS] += hp[0]
            out.by_partner[t, :, P_PIV_ARMS] += hp[1]
            out.by_partner[t, :, P_FLIPS_ACCESS] += hf[0]
            out.by_partner[t, :, P_FLIPS_ARMS] += hf[1]
        tally(act, ent, pact, late, c, c_star, n_pwin, out.by_type[t], out.by_partner[t])
        if wr.general:
            out.by_partner[t, :, P_ACCESS] += (act | given[HELP_ACCESS]).sum(axis=0)
            out.by_partner[t, :, P_ARMS] += given[HELP_ARMS].sum(axis=0)
            out.by_partner[t, :, P_SANCTIONS] += given[HELP_SANCTIONS].sum(axis=0)
        else:
            out.by_partner[t, :, P_ACCESS] += act.sum(axis=0)
        histogram(d1, 1.0 / a_t, out.hist[t])


def _first_ctx(ctx, m):
    """A war context on the first m crises."""
    cap_raw, logd, log_end, q, u, cols, access, target, a_t, m_t, discount = ctx
    return (cap_raw[:m], logd[:m], log_end[:, :m], q[:, :m], u[:m], cols, access, target, a_t,
            m_t, discount)  # fmt: skip
