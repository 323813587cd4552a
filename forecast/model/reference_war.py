"""The war as a process in plain vectorised numpy: the twins of :mod:`forecast.model.war`.

Arrays are (n, P) over the n crises of a block, bool where the kernel keeps bit masks; the same
random numbers are read in the same arithmetic order, with the same fdlibm log and exp, so every
count agrees with the kernel exactly (docs/war.md states the model).
"""

import numpy as np

# the reference imports this module: its log_ and exp_ are read when called, not at import
from forecast.model import reference as ref
from forecast.model.war import (
    HELP_ACCESS,
    HELP_ARMS,
    N_KINDS,
    PH_DECIDED,
    PH_FOUGHT,
    PH_HOLD,
    POWER_CAP,
    POWER_SCALE,
)


def _log(y):
    return ref.log_(y)


def _exp(x):
    return ref.exp_(x)


def help_given(wr, attributed, x, z, col):
    """(N_KINDS, n, P) bool: who gives each kind of help (see the kernel's twin)."""
    n, P = x.shape
    out = np.zeros((N_KINDS, n, P), dtype=bool)
    for c in range(N_KINDS):
        for i in range(P):
            th = wr.help_thr[c, i]
            if th == -np.inf:
                continue
            rho, sig = wr.help_load[c, i], wr.help_noise[c, i]
            r = rho * x[:, i] if sig == 0.0 else rho * x[:, i] + sig * z[:, col + c * P + i]
            out[c, :, i] = attributed[:, i] & (r < th)
    return out


def phase_ends(wr, t, fa):
    """(K, n): log of the time each phase of type t ends (phase 0 at log fa (n,))."""
    K = int(wr.n_phases[t])
    ends = [fa]
    if K > 1:
        e = _exp(fa)
        for k in range(1, K):
            ends.append(_log(e + wr.cum_days[t, k]))
    return np.array(ends)


def phase_odds(wr, t, u, contest_col, phase_col, inv_m):
    """(K, n): (u_k / (1 - u_k))^(1/m) of each phase's contest uniform; for m = 1 and m = 2 the
    odds and their square root (the kernel's odds_root)."""
    m = wr.exponent[t]
    out = []
    for k in range(int(wr.n_phases[t])):
        uc = u[:, contest_col if k == 0 else phase_col + k - 1]
        odds = uc / (1.0 - uc)
        if m == 1.0:
            out.append(odds)
        elif m == 2.0:
            out.append(np.sqrt(odds))
        else:
            out.append(_exp(_log(odds) * inv_m))
    return np.array(out)


def stay_mask(thr_t, shift, x, delta):
    """(n, P) bool: who stays in if the war escalates."""
    return x < thr_t + shift + delta


def _power(wr, k, pres, arms_mask, live, arml, tl):
    d = tl.copy()
    for i in range(live.shape[1]):
        if wr.arms[i] == 0.0 or k < wr.arms_from[i]:
            continue
        d = np.where(arms_mask[:, i], d + arml[:, i], d)
    for i in range(live.shape[1]):
        d = np.where(pres[:, i], d + live[:, i], d)
    return d


def resolve_power(wr, uc):
    """(n,) exp((logit(u) - L) / b) of a phase's resolve uniforms ``uc``: the target keeps
    fighting iff D > A rpow (b > 0), D < A rpow (b < 0); for b = 0, 0 (it keeps) or inf (it
    yields); for b = 1, the odds times exp(-L) (the kernel's phase_draws)."""
    b, L = wr.resolve_slope, wr.resolve_logit
    # a slope near 0: (r - L) / b overflows to inf, as in the kernel (silently)
    with np.errstate(over="ignore"):
        if b == 0.0:
            return np.where(_log(uc / (1.0 - uc)) - L < 0.0, 0.0, np.inf)
        if b == 1.0:
            return uc / (1.0 - uc) * _exp(np.array([-L]))[0]
        return _exp((_log(uc / (1.0 - uc)) - L) * (1.0 / b))


def war(wr, t, members, hosts, arms_mask, stay, ctx, rec=None):
    """(n,) 1.0 where the coalition wins the war of type t, else 0.0 (the kernel's :func:`war`).

    ``ctx`` = (cap_raw, logd (n, P), log_end, q (K, n), u, cols, access, cap_target, aggressor,
    exponent, discount); ``rec`` = (by_phase (K, N_PH), power (K,), esc (1,)) to add to, or
    None. Returns (won, d1), d1 (n,) the coalition's power in phase 0.
    """
    cap_raw, logd, log_end, q, u, cols, access, cap_target, aggr, m, discount = ctx
    n, P = cap_raw.shape
    K = int(wr.n_phases[t])
    live = np.where(logd <= log_end[K - 1][:, None], cap_raw, cap_raw * discount)
    for i in range(P):
        for e in range(access.ptr[i], access.ptr[i + 1]):
            j = access.idx[e]
            live[:, i] = np.where(hosts[:, j], live[:, i], live[:, i] * access.value[i, j])
    arml = np.tile(np.asarray(wr.arms, dtype=float), (n, 1))
    a, tl = np.full(n, float(aggr)), np.full(n, float(cap_target))
    run, won = np.ones(n, dtype=bool), np.zeros(n)
    resolve, escalates = wr.resolve_logit != np.inf, wr.escalation > 0.0
    b = wr.resolve_slope
    lam = wr.attrition
    d1 = None
    for k in range(K):
        last = k == K - 1
        pres = members & (last | (logd <= log_end[k][:, None]))
        d = _power(wr, k, pres, arms_mask, live, arml, tl)
        if k == 0:
            d1 = d
        mem = run.astype(np.int64)
        if resolve:  # keeps iff logit(u) - L < b log(D / A) (see the kernel's phase_draws)
            rpow = resolve_power(wr, u[:, cols.resolve + k])
            with np.errstate(over="ignore"):
                keeps = d < a * rpow if b < 0.0 else d > a * rpow
            mem = np.where((mem == 1) & ~keeps, 2, mem)
        crossed = np.zeros(n, dtype=bool)
        if escalates:  # escalates iff log(v / (e - v)) < m log(D / A), never when v >= e
            v, e = u[:, cols.escalation + k], wr.escalation
            ethr = np.where(v < e, _log(np.where(v < e, v / (e - v), 1.0)), np.inf)
            finite = ethr != np.inf
            epow = np.where(finite, _exp(np.where(finite, ethr * (1.0 / m), 0.0)), np.inf)
            crossed = (mem == 1) & (d > a * epow)
            mem = np.where(crossed, 3, mem)
        if crossed.any():
            d2 = _power(wr, k, np.where(crossed[:, None], pres & stay, pres), arms_mask, live,
                        arml, tl)  # fmt: skip
        else:
            d2 = d
        takes = d2 > a * q[k]
        decisive = bool(wr.decisive[t, k]) or last
        going = (mem == 1) & (takes | (not decisive)) & (not last)
        ends = (mem != 0) & ~going
        win = ((mem == 1) & last & takes) | ((mem == 3) & takes)
        won = np.where(win, 1.0, won)
        hold = (
            (mem == 2) | ((mem == 1) & ~takes) | ((mem == 3) & ~takes) | ((mem == 0) & (won == 0.0))
        )
        if rec is not None:
            by_phase, power, esc = rec
            by_phase[k, PH_FOUGHT] += (mem != 0).sum()
            by_phase[k, PH_HOLD] += hold.sum()
            by_phase[k, PH_DECIDED] += ends.sum()
            esc[0] += crossed.sum()
            fixed = (np.minimum(d, POWER_CAP) * POWER_SCALE).astype(np.int64)  # see POWER_SCALE
            power[k] += int(fixed[mem != 0].sum())
        run = going
        if lam > 0.0 and not last:
            s = d / (d + a)
            a = a * (1.0 - lam * s)
            f = 1.0 - lam * (1.0 - s)
            tl = tl * f
            for i in range(P):
                if wr.arms[i] != 0.0 and k >= wr.arms_from[i]:
                    arml[:, i] = np.where(arms_mask[:, i], arml[:, i] * f, arml[:, i])
                live[:, i] = np.where(pres[:, i], live[:, i] * f, live[:, i])
    return won, d1


def help_pivotality(wr, t, host, act, extra, arms_mask, stay, attributed, ctx):
    """(piv, flips) (2, P) int64, row 0 the bases and row 1 the arms: the crises won with
    partner i's help of that kind forced (given wherever it recognises the attack) minus those
    won with it withheld, and the crises whose outcome differs (see the kernel's twin)."""
    P = act.shape[1]
    piv, flips = np.zeros((2, P), dtype=np.int64), np.zeros((2, P), dtype=np.int64)
    for i in range(P):
        for row, kind in enumerate((HELP_ACCESS, HELP_ARMS)):
            matters = host[i] if row == 0 else wr.arms[i] != 0.0
            if wr.help_thr[kind, i] == -np.inf or not matters:
                continue
            won = []
            for forced in (True, False):
                e, a = extra.copy(), arms_mask.copy()
                (e if kind == HELP_ACCESS else a)[:, i] = attributed[:, i] if forced else False
                won.append(war(wr, t, act, act | e, a, stay, ctx)[0] > 0.5)
            piv[row, i] = int(won[0].sum()) - int(won[1].sum())
            flips[row, i] = int((won[0] != won[1]).sum())
    return piv, flips
