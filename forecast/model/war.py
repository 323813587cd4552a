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
from forecast.model.lanes import exp_lanes, log_lanes

N_KINDS = 3  # kinds of help besides troops, in this order
HELP_ACCESS, HELP_ARMS, HELP_SANCTIONS = 0, 1, 2

# Per-type, per-phase counts, by_phase[t, k, .]
PH_FOUGHT = 0  # crises whose war reaches phase k
PH_HOLD = 1  # the aggressor holds the objective at the end of phase k (or has won before it)
PH_DECIDED = 2  # the war ends in phase k
N_PH = 3


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
def phase_ends(wr, t, fa, w, y, bits, log_end):
    """log_end (K, W): the log of the time each phase of type t ends, phase 0 at the
    fait-accompli time (log fa (W,)), phase k at exp(fa) + cum_days[t, k]. y (W,) scratch."""
    K = wr.n_phases[t]
    le0 = log_end[0]
    for ln in range(w):
        le0[ln] = fa[ln]
    if K == 1:
        return
    exp_lanes(fa, w, bits, y)
    for k in range(1, K):
        d, le = wr.cum_days[t, k], log_end[k]
        for ln in range(w):
            le[ln] = y[ln] + d
        log_lanes(le, w, bits, le)


@njit(inline="always", **JIT)
def phase_odds(wr, t, u, r0, w, contest_col, phase_col, inv_m, y, bits, q):
    """q (K, W): (u_k / (1 - u_k))^(1/m) of each phase's contest uniform (phase 0: the contest
    uniform of the model without phases), so the coalition takes phase k iff D_k > A_k q_k."""
    for k in range(wr.n_phases[t]):
        uc = u[r0 : r0 + w, contest_col if k == 0 else phase_col + k - 1]
        qk = q[k]
        for ln in range(w):
            y[ln] = uc[ln] / (1.0 - uc[ln])
        log_lanes(y, w, bits, qk)
        for ln in range(w):
            qk[ln] = qk[ln] * inv_m
        exp_lanes(qk, w, bits, y)
        for ln in range(w):
            qk[ln] = y[ln]


@njit(inline="always", **JIT)
def _present(k, last, members, logd, log_end, w, pres):
    """pres (W,) int64: the partners of ``members`` whose troops are in phase k (arrived by its
    end, or any in the last phase, the late ones at the discount)."""
    P = logd.shape[0]
    le = log_end[k]
    for ln in range(w):
        pres[ln] = 0
    for i in range(P):
        di = logd[i]
        for ln in range(w):
            here = ((members[ln] >> i) & 1) == 1 and (last or di[ln] <= le[ln])
            pres[ln] |= np.int64(here) << i


@njit(inline="always", **JIT)
def _power(wr, k, pres, arms_mask, live, arml, tl, w, d):
    """d (W,): the coalition's power in phase k: the target's, then the arms given from that
    phase on, then the troops present (pres), each in partner order."""
    P = live.shape[0]
    for ln in range(w):
        d[ln] = tl[ln]
    for i in range(P):
        if wr.arms[i] == 0.0 or k < wr.arms_from[i]:
            continue
        ai = arml[i]
        for ln in range(w):
            d[ln] = d[ln] + ai[ln] if (arms_mask[ln] >> i) & 1 else d[ln]
    for i in range(P):
        li = live[i]
        for ln in range(w):
            d[ln] = d[ln] + li[ln] if (pres[ln] >> i) & 1 else d[ln]


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
def war(wr, t, sets, ctx, scratch, w, won, rec):
    """won (W,) float: 1.0 where the coalition wins the war of attack type t, else 0.0.

    ``sets`` = (members, hosts, arms_mask, stay) (W,) int64: the partners whose troops fight,
    those whose bases are open (the fighters and those giving access), those giving arms, and
    those who stay in if the war escalates. ``ctx`` = (cap_raw, logd (P, W): power before the
    late discount and log arrival time; log_end, q (K, W) of :func:`phase_ends` and
    :func:`phase_odds`; u, r0, cols; access (:class:`~forecast.model.inputs.Links`);
    cap_target, aggressor, exponent, discount). ``scratch`` = (live, arml (P, W); d, d2, a, tl,
    y, lg (W,); run, pres, mem, bits (W,) int64). ``rec`` = (on, by_phase (K, N_PH) int64, power
    (K,), esc (1,) int64, d1 (W,)): with ``on``, the phase counts, the sum of D_k over the crises
    whose war reaches phase k, the escalations and phase 0's power (the histogram's) are added.

    run[ln]: 1 while the war goes on, 0 once it has ended; won[ln] its outcome.
    """
    members, hosts, arms_mask, stay = sets
    cap_raw, logd, log_end, q, u, r0, cols, access, cap_target, aggr, m, discount = ctx
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
    uses_log = wr.resolve_logit != np.inf or wr.escalation > 0.0
    for k in range(K):
        last = k == K - 1
        _present(k, last, members, logd, log_end, w, pres)
        _power(wr, k, pres, arms_mask, live, arml, tl, w, d)
        if uses_log:
            for ln in range(w):
                y[ln] = d[ln] / a[ln]
            log_lanes(y, w, bits, lg)  # log(D_k / A_k)
        # mem: 1 the war goes on into the contest, 2 the target yields, 3 it escalates
        for ln in range(w):
            mem[ln] = run[ln]
        if wr.resolve_logit != np.inf:
            uc = u[r0 : r0 + w, cols.resolve + k]
            for ln in range(w):
                y[ln] = -(wr.resolve_logit + wr.resolve_slope * lg[ln])
            exp_lanes(y, w, bits, y)
            for ln in range(w):
                keeps = uc[ln] < 1.0 / (1.0 + y[ln])
                mem[ln] = 2 if mem[ln] == 1 and not keeps else mem[ln]
        crossed = 0
        if wr.escalation > 0.0:  # after the target's resolve, before the contest
            uc = u[r0 : r0 + w, cols.escalation + k]
            for ln in range(w):
                y[ln] = -m * lg[ln]
            exp_lanes(y, w, bits, y)
            for ln in range(w):
                cross = mem[ln] == 1 and uc[ln] < wr.escalation * (1.0 / (1.0 + y[ln]))
                mem[ln] = 3 if cross else mem[ln]
                crossed += cross
        qk = q[k]
        if crossed:  # the contest is fought on the power that stays
            for ln in range(w):
                bits[ln] = pres[ln] & stay[ln] if mem[ln] == 3 else pres[ln]
            _power(wr, k, bits, arms_mask, live, arml, tl, w, d2)
        else:
            for ln in range(w):
                d2[ln] = d[ln]
        n_fought = n_hold = n_decided = 0
        for ln in range(w):
            takes = d2[ln] > a[ln] * qk[ln]
            st = mem[ln]
            going = st == 1 and (takes or not (wr.decisive[t, k] or last)) and not last
            ends = st != 0 and not going
            # the coalition wins: it takes the last phase, or the phase the war escalated in
            win = (st == 1 and last and takes) or (st == 3 and takes)
            won[ln] = 1.0 if win else won[ln]
            n_fought += st != 0
            n_hold += (
                (st == 2)
                or (st == 1 and not takes)
                or (st == 3 and not takes)
                or (st == 0 and won[ln] == 0.0)
            )
            n_decided += ends
            run[ln] = 1 if going else 0
        if on:
            by_phase[k, PH_FOUGHT] += n_fought
            by_phase[k, PH_HOLD] += n_hold
            by_phase[k, PH_DECIDED] += n_decided
            esc[0] += crossed
            total = 0.0
            for ln in range(w):
                total += d[ln] if mem[ln] != 0 else 0.0
            power[k] += total
            if k == 0:
                for ln in range(w):
                    d1[ln] = d[ln]
        if wr.attrition > 0.0 and not last:
            _attrition(wr, k, pres, arms_mask, d, a, live, arml, tl, w, y)


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
