"""Numba helpers: who joins a coalition and what it brings. Imports numpy and numba, and jitted
code only from the files of :data:`forecast.model.jit.JITTED` (one compile-cache stamp).

The decision pass (:func:`decide`), chain-ganging (:func:`chain_ganging`), a partner's and the
coalition's power (:func:`partner_power`, :func:`coalition_power`), :func:`pivotality` and
:func:`pivotality_deterrence`, each with a twin of the same name in
:mod:`forecast.model.reference`. Partner sets are int64 bit masks per lane, bit i for partner i;
W lanes, of which ``0 .. w-1`` are in use.
"""

import numpy as np
from numba import njit

from forecast.model.jit import JIT
from forecast.model.war import war, war_lanes


@njit(inline="always", **JIT)
def _bit(masks, ln, j):
    """Bit j of lane ln's mask, as 0 or 1."""
    return (masks[ln] >> j) & 1


@njit(inline="always", **JIT)
def decide(thr_t, expected_t, buck, attributed, x, shift, cap, inv_total, net, w, s, act):
    """The decision pass, level by level of the dependency graph (``net.levels``).

    Partner i acts iff it recognises the attack, every partner it requires acts, and
    x_i < thr_t[i] + follows[i, j] of acting leaders j - buck[i] share_i + shift_i. Buck-passing
    is symmetric: share_i is the share of partner power committed by the partners of earlier
    levels (who have decided: i sees it) plus the power its peers of the same level are expected
    to commit, sum over peers j != i of expected_t[j] cap_j (they decide at the same time as i),
    over the partners' total power. So no partner's choice depends on the order partners are
    listed in; a partner alone at its level sees the earlier levels' commitments only.

    thr_t, expected_t, buck (P,); attributed (W,) bit masks; x, shift, cap (P, W); inv_total
    (W,); s (4, W) scratch. Writes the bit masks of who acts to act (W,).
    """
    order, req, levels = net.order, net.requires, net.levels
    fol_ptr, fol_idx, follows = net.follows.ptr, net.follows.idx, net.follows.value
    th, committed, gained, peers = s[0], s[1], s[2], s[3]
    for ln in range(w):
        act[ln] = 0
        committed[ln] = 0.0
    for lev in range(levels.shape[0] - 1):
        k0, k1 = levels[lev], levels[lev + 1]
        passing = False
        for k in range(k0, k1):
            passing |= buck[order[k]] != 0.0
        for ln in range(w):
            gained[ln] = 0.0
            peers[ln] = 0.0
        if passing:  # the power the level's partners are expected to commit
            for k in range(k0, k1):
                e, ci = expected_t[order[k]], cap[order[k]]
                for ln in range(w):
                    peers[ln] += e * ci[ln]
        for k in range(k0, k1):
            i = order[k]
            base, b, rq, ei = thr_t[i], buck[i], req[i], expected_t[i]
            xi, si, ci = x[i], shift[i], cap[i]
            if fol_ptr[i + 1] == fol_ptr[i] and b == 0.0:  # one pass, no other term
                for ln in range(w):
                    a = _bit(attributed, ln, i) == 1
                    ok = a & ((rq & ~act[ln]) == 0) & (xi[ln] < base + si[ln])
                    act[ln] |= np.int64(ok) << i
                    gained[ln] = gained[ln] + ci[ln] if ok else gained[ln]
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
                    share = (committed[ln] + (peers[ln] - ei * ci[ln])) * inv_total[ln]
                    th[ln] = th[ln] - b * share
            for ln in range(w):
                a = _bit(attributed, ln, i) == 1
                ok = a & ((rq & ~act[ln]) == 0) & (xi[ln] < th[ln] + si[ln])
                act[ln] |= np.int64(ok) << i
                gained[ln] = gained[ln] + ci[ln] if ok else gained[ln]
        for ln in range(w):
            committed[ln] += gained[ln]


@njit(inline="always", **JIT)
def chain_ganging(net, u, r0, w, col, act, ent, q, blocked):
    """A partner not acting is drawn in with probability 1 - prod_j (1 - allies[i, j]) over its
    acting allies j (its uniform below it), pass after pass until nothing changes.

    col: offset of the chain-ganging uniforms in u (-1: none); blocked: bit mask of partners who
    cannot be drawn in (forced out, see :func:`pivotality`). Adds the partners drawn in to act
    and writes them to ent (W,); q (W,) scratch.
    """
    for ln in range(w):
        ent[ln] = 0
    chainers, cascade = net.chainers, net.cascade
    ally_ptr, ally_idx, allies = net.allies.ptr, net.allies.idx, net.allies.value
    if col < 0 or chainers.shape[0] == 0:
        return
    changed = True
    while changed:
        changed = False
        for k in range(chainers.shape[0]):
            i = chainers[k]
            if (blocked >> i) & 1:
                continue
            drawn = 0
            cu = u[r0 : r0 + w, col + i]
            e0 = ally_ptr[i]
            if ally_ptr[i + 1] == e0 + 1:  # one ally j: q = 1 - allies[i, j] if j acts, else 1
                j = ally_idx[e0]
                fac = 1.0 * (1.0 - allies[i, j])
                for ln in range(w):
                    ql = fac if _bit(act, ln, j) else 1.0
                    new = (_bit(act, ln, i) == 0) & (cu[ln] < 1.0 - ql)
                    act[ln] |= np.int64(new) << i
                    ent[ln] |= np.int64(new) << i
                    drawn += new
            else:
                for ln in range(w):
                    q[ln] = 1.0
                for e in range(ally_ptr[i], ally_ptr[i + 1]):
                    j = ally_idx[e]
                    fac = 1.0 - allies[i, j]
                    for ln in range(w):
                        q[ln] = q[ln] * fac if _bit(act, ln, j) else q[ln]
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
def partner_power(i, act, flip, w, cap_eff, access, out):
    """out[:w]: partner i's power in each lane, its capability scaled by access.value[i, j] for
    every j not in that lane's set ``act ^ flip`` (access: :class:`forecast.model.inputs.Links`)."""
    ci = cap_eff[i]
    for ln in range(w):
        out[ln] = ci[ln]
    for e in range(access.ptr[i], access.ptr[i + 1]):
        j = access.idx[e]
        a = access.value[i, j]
        for ln in range(w):
            out[ln] = out[ln] if ((act[ln] ^ flip) >> j) & 1 else out[ln] * a


@njit(**JIT)
def coalition_power(act, flip, w, cap_eff, access, cap_target, f, out):
    """out[:w]: target's power plus that of every partner in each lane's set ``act ^ flip``,
    in index order (flip: a mask of partners whose choice is reversed, 0 for none).

    A partner's power is scaled by access[i, j] for every j not in the set; partners with no
    access entry, or one, take a single pass. f (W,) scratch. (Not inlined: it is called in
    several places, and its loops gain nothing from the caller's context.)
    """
    P = cap_eff.shape[0]
    acc_ptr = access.ptr
    for ln in range(w):
        out[ln] = cap_target
    for i in range(P):
        ci = cap_eff[i]
        e0, e1 = acc_ptr[i], acc_ptr[i + 1]
        if e1 == e0:  # full access: the partner's own power
            for ln in range(w):
                out[ln] = out[ln] + ci[ln] if ((act[ln] ^ flip) >> i) & 1 else out[ln]
        elif e1 == e0 + 1:  # one partner j it needs
            j = access.idx[e0]
            a = access.value[i, j]
            for ln in range(w):
                m = act[ln] ^ flip
                fl = ci[ln] if (m >> j) & 1 else ci[ln] * a
                out[ln] = out[ln] + fl if (m >> i) & 1 else out[ln]
        else:
            partner_power(i, act, flip, w, cap_eff, access, f)
            for ln in range(w):
                out[ln] = out[ln] + f[ln] if ((act[ln] ^ flip) >> i) & 1 else out[ln]


@njit(inline="always", **JIT)
def outcome(members, w, cap, access, cap_target, f, out, wx):
    """out[:w]: what decides a crisis for the coalition ``members`` (W,) int64.

    Without the war as a process (``wx[0]`` false): the coalition's power
    (:func:`coalition_power`), which is compared with the winning power. With it: 1.0 or 0.0
    from :func:`forecast.model.war.war`, compared with 0.5. ``wx`` = (general, wr, t,
    extra_hosts, arms_mask, stay, hosts (W,) int64 scratch, arrays, ctx, scratch, rec, base,
    lanes): the war's arguments (the hosts are the members and those giving access), and the
    world this one is a variant of, ``base`` = (members, won, stay, may_escalate) (W,): where the
    members are the same, and so are the stayers among them if the war may escalate, the outcome
    is base's, and only the other lanes are fought again (:func:`forecast.model.war.war_lanes`;
    or all of them where that is most).
    """
    general, wr, t, extra, arms_mask, stay, hosts, arrays, ctx, scratch, rec, base, lanes = wx
    if not general:
        coalition_power(members, 0, w, cap, access, cap_target, f, out)
        return
    bm, bwon, bstay, may_escalate = base
    idx = lanes[0]
    nl = 0
    for ln in range(w):
        m = members[ln]
        # who stays in matters only where the war can escalate
        differs = (m != bm[ln]) | ((((stay[ln] ^ bstay[ln]) & m) != 0) & (may_escalate[ln] != 0))
        idx[nl] = ln
        nl += differs
        out[ln] = bwon[ln]
        hosts[ln] = m | extra[ln]
    if 2 * nl > w:  # copying most lanes costs more than fighting them all where they are
        war(wr, t, (members, hosts, arms_mask, stay), arrays, ctx, scratch, w, out, rec)
    elif nl:
        war_lanes(wr, t, (members, hosts, arms_mask, stay), arrays, ctx, scratch, lanes, nl, out,
                  rec)  # fmt: skip


@njit(inline="always", **JIT)
def pivotality(thr_t, expected_t, attr_t, buck, world, net, u, r0, w, chain_col, act, c, c_star,
               cap_target, scratch, piv, flips, outs, wx):  # fmt: skip
    """Total effect of each partner: the crises won with partner i forced in minus those won
    with it forced out, every other partner deciding again (requires, follows, buck-passing,
    chain-ganging, access), on the same random numbers; added to piv (P,) int64, and the crises
    whose outcome differs to flips (P,) int64 (for the MCSE).

    Forced in: i is willing whatever its resolve (it still acts only if it recognises the attack
    and the partners it requires act), and its peers expect attr_t[i] of it; forced out: it is
    unwilling and cannot be drawn in, and its peers expect nothing. When nobody's decision can
    depend on i (``net.rerun[i]`` false) only i's own power changes. ``world`` = (attributed,
    x, shift, cap, inv_total); ``scratch`` = (s (4, W), thr, exp (P,), ain, aout, ent (W,)
    int64, c_in, c_out, f (W,)); act, c (W,): who acts and the coalition's power. Copies the
    forced-out worlds to ``outs`` = (aouts (P, >= w) int64, couts (P, >= w)): row i, who acts
    and the coalition's power with i forced out (:func:`pivotality_deterrence` reuses them when
    the aggressor perceives the world as it is).
    """
    attributed, x, shift, cap, inv_total = world
    s, thr, exp, ain, aout, ent, c_in, c_out, f = scratch
    aouts, couts = outs
    P = cap.shape[0]
    for i in range(P):
        thr[i], exp[i] = thr_t[i], expected_t[i]
    for i in range(P):
        bit = np.int64(1) << i
        if net.rerun[i]:
            thr[i], exp[i] = np.inf, attr_t[i]
            decide(thr, exp, buck, attributed, x, shift, cap, inv_total, net, w, s, ain)
            chain_ganging(net, u, r0, w, chain_col, ain, ent, s[0], 0)
            thr[i], exp[i] = -np.inf, 0.0
            decide(thr, exp, buck, attributed, x, shift, cap, inv_total, net, w, s, aout)
            chain_ganging(net, u, r0, w, chain_col, aout, ent, s[0], bit)
            thr[i], exp[i] = thr_t[i], expected_t[i]
            outcome(ain, w, cap, net.access, cap_target, f, c_in, wx)
            outcome(aout, w, cap, net.access, cap_target, f, c_out, wx)
        elif net.host[i] or wx[0]:  # others' power depends on i, or the war is a process
            for ln in range(w):
                able = _bit(attributed, ln, i)
                ain[ln] = act[ln] | (able << i)
                aout[ln] = act[ln] & ~bit
            outcome(ain, w, cap, net.access, cap_target, f, c_in, wx)
            outcome(aout, w, cap, net.access, cap_target, f, c_out, wx)
        else:  # only i's own power is added or removed
            partner_power(i, act, 0, w, cap, net.access, f)
            for ln in range(w):
                acting, able = _bit(act, ln, i), _bit(attributed, ln, i)
                c_in[ln] = c[ln] + f[ln] if (able & (1 - acting)) == 1 else c[ln]
                c_out[ln] = c[ln] - f[ln] if acting == 1 else c[ln]
                aout[ln] = act[ln] & ~bit
        k_net = k_flip = 0
        for ln in range(w):
            win_in, win_out = c_in[ln] > c_star[ln], c_out[ln] > c_star[ln]
            k_net += np.int64(win_in) - np.int64(win_out)
            k_flip += win_in != win_out
        piv[i] += k_net
        flips[i] += k_flip
        ao, co = aouts[i], couts[i]  # copied: the loops above keep their own 1-D arrays
        for ln in range(w):
            ao[ln] = aout[ln]
            co[ln] = c_out[ln]


@njit(inline="always", **JIT)
def pivotality_deterrence(thr_t, expected_t, buck, world, net, u, r0, w, chain_col, pact, c_perc,
                          c_star, cap_target, scratch, counts, exact, outs, wx):  # fmt: skip
    """The aggressor's perceived world with each partner i known to stay out, on the same random
    numbers: i is unwilling and cannot be drawn in, its peers expect nothing of it, and every
    other partner decides again on the perceived thresholds (requires, follows, buck-passing,
    chain-ganging, access). Returns the crises the coalition wins in the perceived world as it
    is (pact, c_perc (W,): who acts there and the coalition's power) and adds to ``counts`` =
    (pjoin (P,), pwin_out, pwin_flips (P,), pjoin_out, pjoin_flips (P, P)), all int64:

    - pjoin[j]: crises in which j joins in the perceived world as it is;
    - pwin_out[i]: crises the coalition wins with i out; pwin_flips[i]: ... whose outcome differs
      from the perceived world's as it is;
    - pjoin_out[i, j]: crises in which j joins with i out; pjoin_flips[i, j]: ... in which j's
      choice differs from its choice in the perceived world as it is.

    thr_t, expected_t (P,): the perceived thresholds and expected commitments; ``world`` =
    (attributed, x, shift, cap, inv_total) of the perceived world (see :func:`decide`);
    ``scratch`` = (s (4, W), thr, exp (P,), aout, ent (W,) int64, c_out, f (W,), base (P,) int64).
    The branches are :func:`pivotality`'s forced-out ones, in the same arithmetic: so when the
    aggressor perceives the world as it is (``exact``: its thresholds and expected commitments
    are the true ones, pact and c_perc those of the true world) the forced-out worlds are
    pivotality's, read from ``outs`` = (aouts, couts) (:func:`pivotality`) instead of decided
    again.
    """
    attributed, x, shift, cap, inv_total = world
    s, thr, exp, aout0, ent, c_out0, f, base = scratch
    pjoin, pwin_out, pwin_flips, pjoin_out, pjoin_flips = counts
    P = cap.shape[0]
    n_win = 0
    for ln in range(w):
        n_win += c_perc[ln] > c_star[ln]
    for j in range(P):
        k = 0
        for ln in range(w):
            k += _bit(pact, ln, j)
        base[j] = k
        pjoin[j] += k
    aouts, couts = outs
    for i in range(P):
        thr[i], exp[i] = thr_t[i], expected_t[i]
    for i in range(P):
        bit = np.int64(1) << i
        if exact:
            aout, c_out = aouts[i], couts[i]
        elif net.rerun[i]:
            aout, c_out = aout0, c_out0
            thr[i], exp[i] = -np.inf, 0.0
            decide(thr, exp, buck, attributed, x, shift, cap, inv_total, net, w, s, aout)
            chain_ganging(net, u, r0, w, chain_col, aout, ent, s[0], bit)
            thr[i], exp[i] = thr_t[i], expected_t[i]
            outcome(aout, w, cap, net.access, cap_target, f, c_out, wx)
        else:
            aout, c_out = aout0, c_out0
            for ln in range(w):
                aout[ln] = pact[ln] & ~bit
            if net.host[i] or wx[0]:  # others' power depends on i, or the war is a process
                outcome(aout, w, cap, net.access, cap_target, f, c_out, wx)
            else:  # only i's own power is removed
                partner_power(i, pact, 0, w, cap, net.access, f)
                for ln in range(w):
                    c_out[ln] = c_perc[ln] - f[ln] if _bit(pact, ln, i) == 1 else c_perc[ln]
        k_win = k_flip = 0
        for ln in range(w):
            won = c_out[ln] > c_star[ln]
            k_win += won
            k_flip += won != (c_perc[ln] > c_star[ln])
        pwin_out[i] += k_win
        pwin_flips[i] += k_flip
        changed = np.int64(0)  # partners whose choice differs in some crisis
        for ln in range(w):
            changed |= aout[ln] ^ pact[ln]
        jo, jf = pjoin_out[i], pjoin_flips[i]
        for j in range(P):
            if not (changed >> j) & 1:  # the same choices: the counts of the world as it is
                jo[j] += base[j]
                continue
            k1 = k2 = 0
            for ln in range(w):
                k1 += _bit(aout, ln, j)
                k2 += ((aout[ln] ^ pact[ln]) >> j) & 1
            jo[j] += k1
            jf[j] += k2
    return n_win
