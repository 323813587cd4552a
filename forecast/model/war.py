"""Numba helpers of the war as a process (docs/war.md): kinds of help, and the war in phases.
Imports numpy and numba, and jitted code only from the files of :data:`forecast.model.jit.JITTED`.

Each function has a twin of the same name in :mod:`forecast.model.reference_war`, which takes
the same random numbers in the same arithmetic. W lanes, ``0 .. w-1`` in use; partner sets are
int64 bit masks per lane (bit i: partner i). ``wr`` is the draw's
:class:`forecast.model.inputs.War`.

:func:`war` decides one crisis's war for a set of fighting partners. With one phase and none of
the other mechanisms it computes the coalition's power in the order
:func:`forecast.model.coalition.coalition_power` does and compares it with the same winning
power, so its outcome is the model without phases to the bit (a test runs both).
"""

import numpy as np
from numba import njit

from forecast.model.jit import JIT
from forecast.model.lanes import exp_lanes, exp_one, log_lanes, log_one

N_KINDS = 3  # kinds of help besides troops, in this order
HELP_ACCESS, HELP_ARMS, HELP_SANCTIONS = 0, 1, 2

# Per-type, per-phase counts, by_phase[t, k, .]
PH_FOUGHT = 0  # crises whose war reaches phase k
PH_HOLD = 1  # the aggressor holds the objective at the end of phase k (or has won before it)
PH_DECIDED = 2  # the war ends in phase k
N_PH = 3
# The sums of the coalition's power per phase are kept in fixed point, units of 1 / POWER_SCALE
# of capability (each crisis's power truncated, and capped at POWER_CAP): integers add in any
# order to the same total, so the result is the same on any number of threads or workers and in
# the kernel and its reference (a float sum would depend on the order of its terms).
POWER_SCALE = 65536.0
POWER_CAP = 1e6


@njit(inline="always", **JIT)
def help_given(wr, attributed, x, z, r0, w, col, given):
    """given (N_KINDS, W) int64: bit i of row c when partner i gives help of kind c, that is when
    it recognises the attack and rho x_i + sqrt(1 - rho^2) e_ic < Phi^-1(w_c) (a Gaussian copula
    with its resolve x (P, W); e_ic its normal in z at ``col + c P + i``; no number is read when
    rho is 1). A kind the partner does not list has threshold -inf."""
    P = wr.help_thr.shape[1]
    for c in range(N_KINDS):
        g = given[c]
        for ln in range(w):
            g[ln] = 0
        for i in range(P):
            th = wr.help_thr[c, i]
            if th == -np.inf:
                continue
            rho, sig = wr.help_load[c, i], wr.help_noise[c, i]
            xi = x[i]
            if sig == 0.0:
                for ln in range(w):
                    ok = ((attributed[ln] >> i) & 1) & np.int64(rho * xi[ln] < th)
                    g[ln] |= ok << i
            else:
                zc = z[r0 : r0 + w, col + c * P + i]
                for ln in range(w):
                    ok = ((attributed[ln] >> i) & 1) & np.int64(rho * xi[ln] + sig * zc[ln] < th)
                    g[ln] |= ok << i


@njit(inline="always", **JIT)
def phase_ends(wr, t, fa, efa, w, log_end):
    """log_end (K, W): the log of the time each phase of type t ends, phase 0 at the
    fait-accompli time (log fa (W,)), phase k at exp(fa) + cum_days[t, k]; efa (W,) is exp(fa)
    (computed once per chunk for every attack type, and read only when K > 1)."""
    K = wr.n_phases[t]
    le0 = log_end[0]
    for ln in range(w):
        le0[ln] = fa[ln]
    for k in range(1, K):
        d, le = wr.cum_days[t, k], log_end[k]
        for ln in range(w):
            le[ln] = efa[ln] + d
        log_lanes(le, w, le)


@njit(inline="always", **JIT)
def odds_root(m):
    """Whether phase_odds takes (u / (1 - u))^(1/m) from the odds directly: m = 1 (the odds)
    or m = 2 (their square root), exactly rounded, without a log or an exp."""
    return m == 1.0 or m == 2.0


@njit(inline="always", **JIT)
def phase_logodds(u, r0, w, contest_col, phase_col, lq, need):
    """lq (K, W): log(u_k / (1 - u_k)) of each phase's contest uniform (phase 0: the contest
    uniform of the model without phases), once per chunk for every attack type; only the first
    ``need`` phases (those of the types whose exponent is not :func:`odds_root`'s)."""
    for k in range(need):
        uc, lk = u[r0 : r0 + w, contest_col if k == 0 else phase_col + k - 1], lq[k]
        for ln in range(w):
            lk[ln] = log_one(uc[ln] / (1.0 - uc[ln]))


@njit(inline="always", **JIT)
def _same_odds(wr, t, k):
    """An earlier attack type than t with t's contest exponent and a phase k, or -1: phase k's
    odds and escalation powers depend on the phase's draws and the exponent only."""
    for s in range(t):
        if wr.exponent[s] == wr.exponent[t] and wr.n_phases[s] > k:
            return s
    return -1


@njit(inline="always", **JIT)
def phase_odds(wr, t, lq, u, r0, w, cols, q):
    """q[t] (K, W): (u_k / (1 - u_k))^(1/m) = exp(lq_k / m) of each phase of type t, so the
    coalition takes phase k iff D_k > A_k q_k; q (T, K, W). For m = 1 and m = 2 it is the odds
    or their square root (:func:`odds_root`; lq is not read). A phase an earlier type with the
    same exponent has is copied from it."""
    m = wr.exponent[t]
    inv_m = 1.0 / m
    for k in range(wr.n_phases[t]):
        lk, qk, src = lq[k], q[t, k], _same_odds(wr, t, k)
        if src >= 0:
            qs = q[src, k]
            for ln in range(w):
                qk[ln] = qs[ln]
            continue
        if odds_root(m):
            uc = u[r0 : r0 + w, cols.contest if k == 0 else cols.phase + k - 1]
            if m == 1.0:
                for ln in range(w):
                    qk[ln] = uc[ln] / (1.0 - uc[ln])
            else:
                for ln in range(w):
                    qk[ln] = np.sqrt(uc[ln] / (1.0 - uc[ln]))
            continue
        for ln in range(w):
            qk[ln] = exp_one(lk[ln] * inv_m)


@njit(inline="always", **JIT)
def phase_draws(wr, u, r0, w, cols, y, rpow, esc, may_escalate):
    """Each phase's draws of the target's resolve and of escalation, as thresholds, so that no
    war evaluates a log or an exp (both are drawn once per chunk, for every world of it):

    - the target keeps fighting iff u < expit(L + b lg), lg = log(D_k / A_k), that is iff
      r = logit(u) - L < b lg. rpow (K, W) = exp(r / b): it keeps iff D > A rpow for b > 0,
      D < A rpow for b < 0; for b = 0, rpow is 0 (it keeps) or inf (it yields); for b = 1
      (the slope of Taiwan's and Ukraine's resolve), rpow is computed as u / (1 - u) exp(-L),
      without a log or an exp per crisis (the reference's resolve_power);
    - the war escalates iff v < e expit(m lg), that is iff ethr = log(v / (e - v)) < m lg
      (never when v >= e). ``esc`` = (ethr (K, W), idx (K, W) int64, n (K,) int64): phase k's
      n[k] crises with v < e are lanes idx[k, :n[k]], and ethr[k, j] is the threshold of lane
      idx[k, j] (the log is taken of those lanes only); they go to :func:`escalation_power`.
      may_escalate (W,) int64: 1 in a crisis where some phase's draw is below e, the only
      crises in which who stays in can matter.
    """
    K = rpow.shape[0]
    if wr.resolve_logit != np.inf:
        L, b = wr.resolve_logit, wr.resolve_slope
        inv_b = 1.0 / b if b != 0.0 else 0.0
        for k in range(K):
            uc, rk = u[r0 : r0 + w, cols.resolve + k], rpow[k]
            if b == 0.0:
                for ln in range(w):
                    rk[ln] = 0.0 if log_one(uc[ln] / (1.0 - uc[ln])) - L < 0.0 else np.inf
                continue
            if b == 1.0:  # exp(logit(u) - L) is the odds times exp(-L): no log, no exp per crisis
                e_l = exp_one(-L)
                for ln in range(w):
                    rk[ln] = uc[ln] / (1.0 - uc[ln]) * e_l
                continue
            for ln in range(w):
                rk[ln] = exp_one((log_one(uc[ln] / (1.0 - uc[ln])) - L) * inv_b)
    for ln in range(w):
        may_escalate[ln] = 0
    if wr.escalation > 0.0:
        e = wr.escalation
        ethr, idx, n = esc
        for k in range(K):
            uc, ik = u[r0 : r0 + w, cols.escalation + k], idx[k]
            nk = 0
            for ln in range(w):
                below = uc[ln] < e
                ik[nk] = ln
                nk += below
            for ln in range(w):
                may_escalate[ln] |= np.int64(uc[ln] < e)
            for j in range(nk):
                v = uc[ik[j]]
                y[j] = v / (e - v)
            log_lanes(y, nk, ethr[k])
            n[k] = nk


@njit(inline="always", **JIT)
def escalation_power(wr, t, esc, w, y, epow):
    """epow[t] (K, W) = exp(ethr / m): the war of a type with exponent m escalates in phase k iff
    D_k > A_k epow[t, k] (inf where it never does); epow (T, K, W), ``esc`` of
    :func:`phase_draws`. A phase an earlier type with the same exponent has is copied from it."""
    ethr, idx, n = esc
    inv_m = 1.0 / wr.exponent[t]
    for k in range(wr.n_phases[t]):
        pk, src = epow[t, k], _same_odds(wr, t, k)
        if src >= 0:
            ps = epow[src, k]
            for ln in range(w):
                pk[ln] = ps[ln]
            continue
        ek, ik, nk = ethr[k], idx[k], n[k]
        for j in range(nk):
            y[j] = ek[j] * inv_m
        exp_lanes(y, nk, y)
        for ln in range(w):
            pk[ln] = np.inf
        for j in range(nk):
            pk[ik[j]] = y[j]


@njit(inline="always", **JIT)
def _armed_target(wr, k, arms_mask, arml, tl, w, d):
    """d (W,): the target's power in phase k, then the arms given from that phase on, in partner
    order (the first terms of :func:`_power`)."""
    for ln in range(w):
        d[ln] = tl[ln]
    for i in range(arml.shape[0]):
        if wr.arms[i] == 0.0 or k < wr.arms_from[i]:
            continue
        ai = arml[i]
        for ln in range(w):
            d[ln] = d[ln] + ai[ln] if (arms_mask[ln] >> i) & 1 else d[ln]


@njit(inline="always", **JIT)
def _power(wr, k, pres, arms_mask, live, arml, tl, w, d):
    """d (W,): the coalition's power in phase k for the troops ``pres`` (W,) int64: the
    target's, then the arms given from that phase on, then the troops, each in partner order."""
    _armed_target(wr, k, arms_mask, arml, tl, w, d)
    for i in range(live.shape[0]):
        li = live[i]
        for ln in range(w):
            d[ln] = d[ln] + li[ln] if (pres[ln] >> i) & 1 else d[ln]


@njit(inline="always", **JIT)
def _staying_power(wr, k, mem, pres, stay, arms_mask, live, arml, tl, w, idx, d2):
    """d2[ln] for the lanes whose war escalated in phase k (mem 3): :func:`_power` of the troops
    present who stay in, in its order (the target, the arms, the troops); the other lanes are
    left alone. They are few: the lanes are listed in idx (W,) int64 and summed one by one."""
    n = 0
    for ln in range(w):
        idx[n] = ln
        n += mem[ln] == 3
    P = live.shape[0]
    for j in range(n):
        ln = idx[j]
        v = tl[ln]
        for i in range(P):
            if wr.arms[i] != 0.0 and k >= wr.arms_from[i] and (arms_mask[ln] >> i) & 1:
                v = v + arml[i, ln]
        stays = pres[ln] & stay[ln]
        for i in range(P):
            if (stays >> i) & 1:
                v = v + live[i, ln]
        d2[ln] = v


@njit(inline="always", **JIT)
def _present_power(wr, k, last, members, arms_mask, logd, log_end, live, arml, tl, w, pres, d):
    """pres (W,) int64: the partners of ``members`` whose troops are in phase k (arrived by its
    end, or any in the last phase, the late ones at the discount); d (W,): the coalition's
    power in the phase (:func:`_power` of those troops, in the same order, in one pass)."""
    if last:
        for ln in range(w):
            pres[ln] = members[ln]
        _power(wr, k, pres, arms_mask, live, arml, tl, w, d)
        return
    le = log_end[k]
    for ln in range(w):
        pres[ln] = 0
    _armed_target(wr, k, arms_mask, arml, tl, w, d)
    for i in range(live.shape[0]):  # who has arrived by the phase's end, and their power
        di, li = logd[i], live[i]
        for ln in range(w):
            here = (((members[ln] >> i) & 1) == 1) & (di[ln] <= le[ln])
            pres[ln] |= np.int64(here) << i
            d[ln] = d[ln] + li[ln] if here else d[ln]


@njit(inline="always", **JIT)
def _attrition(wr, k, pres, arms_mask, d, a, live, arml, tl, w, y):
    """After phase k: the aggressor keeps A (1 - lambda s), every force that fought (the target,
    the arms given, the troops present) 1 - lambda (1 - s), s = D / (D + A). y (W,) scratch."""
    lam = wr.attrition
    P = live.shape[0]
    for ln in range(w):
        s = d[ln] / (d[ln] + a[ln])
        a[ln] = a[ln] * (1.0 - lam * s)
        y[ln] = 1.0 - lam * (1.0 - s)
        tl[ln] = tl[ln] * y[ln]
    for i in range(P):
        if wr.arms[i] != 0.0 and k >= wr.arms_from[i]:
            ai = arml[i]
            for ln in range(w):
                ai[ln] = ai[ln] * y[ln] if (arms_mask[ln] >> i) & 1 else ai[ln]
        li = live[i]
        for ln in range(w):
            li[ln] = li[ln] * y[ln] if (pres[ln] >> i) & 1 else li[ln]


@njit(**JIT)
def war(wr, t, sets, arrays, ctx, scratch, w, won, rec):
    """won (W,) float: 1.0 where the coalition wins the war of attack type t, else 0.0, for the
    lanes 0 .. w-1.

    ``sets`` = (members, hosts, arms_mask, stay) (W,) int64: the partners whose troops fight,
    those whose bases are open (the fighters and those giving access), those giving arms, and
    those who stay in if the war escalates. ``arrays`` = (cap_raw, logd (P, W): power before
    the late discount and log arrival time; log_end, q, rpow, epow (K, W) of
    :func:`phase_ends`, :func:`phase_odds`, :func:`phase_draws` and :func:`escalation_power`).
    ``ctx`` = (access (:class:`~forecast.model.inputs.Links`), cap_target, aggressor,
    discount).
    ``scratch`` = (live, arml (P, W); d, d2, a, tl, y, lg (W,); run, pres, mem, bits (W,)
    int64). ``rec`` = (on, by_phase (K, N_PH) int64, power (K, W) int64, esc (1,) int64, d1 (W,)):
    with ``on``, the phase counts, the sum of D_k over the crises whose war reaches phase k
    (lane by lane), the escalations and phase 0's power (the histogram's) are added.

    run[ln]: 1 while the war goes on, 0 once it has ended; won[ln] its outcome.
    """
    members, hosts, arms_mask, stay = sets
    cap_raw, logd, log_end, q, rpow, epow = arrays
    access, cap_target, aggr, discount = ctx
    live, arml, d, d2, a, tl, y, lg, run, pres, mem, bits = scratch
    on, by_phase, power, esc, d1 = rec
    P = cap_raw.shape[0]
    K = wr.n_phases[t]
    last_end = log_end[K - 1]
    # each partner's troops: late after the last phase at the discount, then scaled by access
    # (the arithmetic order of timing and coalition_power)
    for i in range(P):
        ci, li, di = cap_raw[i], live[i], logd[i]
        for ln in range(w):
            li[ln] = ci[ln] if di[ln] <= last_end[ln] else ci[ln] * discount
        for e in range(access.ptr[i], access.ptr[i + 1]):
            j = access.idx[e]
            f = access.value[i, j]
            for ln in range(w):
                li[ln] = li[ln] if (hosts[ln] >> j) & 1 else li[ln] * f
    for i in range(P):
        if wr.arms[i] != 0.0:
            ai, amount = arml[i], wr.arms[i]
            for ln in range(w):
                ai[ln] = amount
    for ln in range(w):
        a[ln] = aggr
        tl[ln] = cap_target
        run[ln] = 1
        won[ln] = 0.0
    resolve, escalates = wr.resolve_logit != np.inf, wr.escalation > 0.0
    falling = wr.resolve_slope < 0.0  # the target fights on when it is weaker
    for k in range(K):
        last = k == K - 1
        _present_power(wr, k, last, members, arms_mask, logd, log_end, live, arml, tl, w, pres, d)
        # mem: 1 the war goes on into the contest, 2 the target yields, 3 it escalates
        for ln in range(w):
            mem[ln] = run[ln]
        if resolve:
            rk = rpow[k]
            for ln in range(w):
                bar = a[ln] * rk[ln]
                keeps = (d[ln] < bar) if falling else (d[ln] > bar)
                mem[ln] = 2 if (mem[ln] == 1) & (not keeps) else mem[ln]
        crossed = 0
        if escalates:  # after the target's resolve, before the contest
            ek = epow[k]
            for ln in range(w):
                cross = (mem[ln] == 1) & (d[ln] > a[ln] * ek[ln])
                mem[ln] = 3 if cross else mem[ln]
                crossed += cross
        qk = q[k]
        for ln in range(w):
            d2[ln] = d[ln]
        if crossed:  # the contest is fought on the power that stays
            _staying_power(wr, k, mem, pres, stay, arms_mask, live, arml, tl, w, bits, d2)
        n_fought = n_hold = n_decided = 0
        # the aggressor holding the objective at the phase's end ends the war
        ends_if_held = wr.decisive[t, k] or last
        for ln in range(w):  # bitwise logic: no branch in the loop
            takes = d2[ln] > a[ln] * qk[ln]
            st = mem[ln]
            fights, yields, escalated = st == 1, st == 2, st == 3
            going = fights & (takes | (not ends_if_held)) & (not last)
            # the coalition wins: it takes the last phase, or the phase the war escalated in
            win = takes & ((fights & last) | escalated)
            held = yields | ((fights | escalated) & (not takes)) | ((st == 0) & (won[ln] == 0.0))
            won[ln] = 1.0 if win else won[ln]
            n_fought += st != 0
            n_hold += held
            n_decided += (st != 0) & (not going)
            run[ln] = np.int64(going)
        if on:
            by_phase[k, PH_FOUGHT] += n_fought
            by_phase[k, PH_HOLD] += n_hold
            by_phase[k, PH_DECIDED] += n_decided
            esc[0] += crossed
            pk = power[k]  # per lane, in fixed point: see POWER_SCALE
            for ln in range(w):
                pk[ln] += np.int64(min(d[ln], POWER_CAP) * POWER_SCALE) if mem[ln] != 0 else 0
            if k == 0:
                for ln in range(w):
                    d1[ln] = d[ln]
        if wr.attrition > 0.0 and not last:
            _attrition(wr, k, pres, arms_mask, d, a, live, arml, tl, w, y)


@njit(**JIT)
def war_lanes(wr, t, sets, arrays, ctx, scratch, lanes, w, won, rec):
    """:func:`war` on the lanes ``lanes[:w]`` of the arrays (W,) int64 only: they are copied
    into compact buffers ``lanes`` = (idx (W,) int64, sets' (4, W) int64, arrays' (P, W) x 2 and
    (K, W) x 4, won' (W,)), the war is decided there and its outcomes written back to won. The
    other lanes of won are left alone. (A counterfactual world differs from the world it is
    compared with in a few crises only: the others keep that world's outcome.)"""
    idx, gs, gcap, glogd, gend, gq, gr, ge, gwon = lanes
    members, hosts, arms_mask, stay = sets
    cap_raw, logd, log_end, q, rpow, epow = arrays
    P, K = cap_raw.shape[0], wr.n_phases[t]
    g0, g1, g2, g3 = gs[0], gs[1], gs[2], gs[3]
    for j in range(w):
        ln = idx[j]
        g0[j], g1[j], g2[j], g3[j] = members[ln], hosts[ln], arms_mask[ln], stay[ln]
    for i in range(P):
        ci, di, gc, gd = cap_raw[i], logd[i], gcap[i], glogd[i]
        for j in range(w):
            gc[j] = ci[idx[j]]
            gd[j] = di[idx[j]]
    for k in range(K):
        e0, q0, r0_, x0 = log_end[k], q[k], rpow[k], epow[k]
        e1, q1, r1, x1 = gend[k], gq[k], gr[k], ge[k]
        for j in range(w):
            ln = idx[j]
            e1[j], q1[j], r1[j], x1[j] = e0[ln], q0[ln], r0_[ln], x0[ln]
    war(wr, t, (g0, g1, g2, g3), (gcap, glogd, gend, gq, gr, ge), ctx, scratch, w, gwon, rec)
    for j in range(w):
        won[idx[j]] = gwon[j]


@njit(inline="always", **JIT)
def stay_mask(thr_t, shift, x, delta, w, stay):
    """stay (W,) int64: the partners who stay in if the war escalates, x_i < thr_t[i] +
    shift_i + delta (their threshold shifted by the escalation's willingness_shift)."""
    P = x.shape[0]
    for ln in range(w):
        stay[ln] = 0
    for i in range(P):
        xi, si, th = x[i], shift[i], thr_t[i]
        for ln in range(w):
            stay[ln] |= np.int64(xi[ln] < th + si[ln] + delta) << i


@njit(inline="always", **JIT)
def _forced_help(kind, i, forced, act, extra, arms_mask, attributed, w, hosts, arms, idx):
    """hosts, arms (W,) int64: the bases open and the arms given with partner i's help of kind
    ``kind`` forced (given wherever it recognises the attack) or withheld (never given); a
    partner that fights still opens its bases. idx (W,) int64: the lanes in which they differ
    from the world as it is, listed first; returns how many."""
    bit = np.int64(1) << i
    n = 0
    for ln in range(w):
        able = attributed[ln] & bit
        e, a = extra[ln], arms_mask[ln]
        if kind == HELP_ACCESS:
            e = (e | able) if forced else (e & ~bit)
        else:
            a = (a | able) if forced else (a & ~bit)
        h = act[ln] | e
        hosts[ln] = h
        arms[ln] = a
        idx[n] = ln
        n += (h != (act[ln] | extra[ln])) | (a != arms_mask[ln])
    return n


@njit(inline="always", **JIT)
def help_pivotality(wr, t, host, sets, attributed, arrays, ctx, scratch, lanes, rec, w, won, out,
                    piv):  # fmt: skip
    """Pivotality of each partner's bases and arms: the crises won with partner i's help of that
    kind forced (given wherever i recognises the attack) minus those won with it withheld, its
    troops and every other decision as they are, on the same random numbers. Nobody's decision
    depends on another's help, so this is its total effect. A kind the partner never gives (its
    threshold is -inf: not listed, or willingness 0), bases nobody needs (``host[i]`` false) and
    arms of amount 0 take no war and add 0.

    ``sets`` = (act, extra, arms_mask, stay) (W,) int64 of the world as it is: who fights, who
    opens its bases apart from fighting, who gives arms, who stays in; won (W,): its outcome
    (1.0 or 0.0). ``arrays``, ``ctx``, ``scratch``: :func:`war`'s; ``lanes``:
    :func:`war_lanes`'s; ``rec``: a record that is off (:func:`war`). ``out`` = (hosts, arms
    (W,) int64, won_in, won_out (W,)) scratch.
    ``piv`` = (piv (2, P), flips (2, P)) int64, row 0 the bases, row 1 the arms: added to.
    """
    act, extra, arms_mask, stay = sets
    hosts, arms, won_in, won_out = out
    piv_n, flips = piv
    idx = lanes[0]
    P = host.shape[0]
    for i in range(P):
        for row in range(2):
            kind = HELP_ACCESS if row == 0 else HELP_ARMS
            matters = host[i] if row == 0 else wr.arms[i] != 0.0
            if wr.help_thr[kind, i] == -np.inf or not matters:
                continue
            for f in range(2):
                dst = won_in if f == 0 else won_out
                for ln in range(w):
                    dst[ln] = won[ln]
                nl = _forced_help(kind, i, f == 0, act, extra, arms_mask, attributed, w, hosts,
                                  arms, idx)  # fmt: skip
                if nl:
                    war_lanes(wr, t, (act, hosts, arms, stay), arrays, ctx, scratch, lanes, nl,
                              dst, rec)  # fmt: skip
            k_net = k_flip = 0
            for ln in range(w):
                a, b = won_in[ln] > 0.5, won_out[ln] > 0.5
                k_net += np.int64(a) - np.int64(b)
                k_flip += a != b
            piv_n[row, i] += k_net
            flips[row, i] += k_flip
