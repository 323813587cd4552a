"""Each mechanism's numba helper against its numpy twin of the same name, on the same numbers.

Every helper of forecast.model.kernels / forecast.model.coalition is run on a chunk of lanes
(realizations r0 .. r0 + w - 1 of a block) and compared, exactly, with the reference's function
on the same rows; the helpers' inputs are the kernel's own states of the steps before, so each
test checks one mechanism alone. ``.py_func`` runs too: coverage cannot see compiled code.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.model import coalition, inputs, kernels, reference
from forecast.model.war import N_PH
from tests.model.kernel_cases import random_inputs

W = kernels.LANES


def bools(masks, P):
    """(w,) int64 bit masks -> (w, P) bool."""
    return ((np.asarray(masks)[:, None] >> np.arange(P)) & 1).astype(bool)


class Chunk:
    """A random case and the kernel's states, step by step, on lanes r0 .. r0 + w - 1."""

    def __init__(self, seed, T=2, P=5, K=2, J=2, V=4, w=300, r0=37, mechanisms=True):
        rng = np.random.default_rng(seed)
        self.inputs, self.z, self.u = random_inputs(rng, T, P, K, J, V, r0 + w, mechanisms)
        self.r0, self.w, self.P, self.J = r0, w, P, J
        self.pa, self.net, self.cols = (
            self.inputs.partners,
            self.inputs.network,
            self.inputs.columns,
        )
        self.zr, self.ur = self.z[r0 : r0 + w], self.u[r0 : r0 + w]

    def lanes(self, dtype=float, rows=None):
        return np.zeros((W,) if rows is None else (rows, W), dtype=dtype)

    def world(self):
        """x, shift, cap_eff (P, W), late, inv_total, c_star (W,) from the kernel's helpers."""
        a, r0, w = self, self.r0, self.w
        x, shift, cap = a.lanes(rows=a.P), a.lanes(rows=a.P), a.lanes(rows=a.P)
        late, fa, inv, c_star = a.lanes(np.int64), a.lanes(), a.lanes(), a.lanes()
        kernels.resolve(a.pa, a.z, r0, w, a.cols, x)
        kernels.other_theatres(a.pa, a.u, r0, w, a.cols, shift, cap)
        ins = a.inputs.institutions
        kernels.institutions(
            ins, (ins.vote_thr, ins.abstain_thr), x, a.z, r0, w, a.cols, shift,
            a.lanes(np.int64), np.zeros(a.J, np.int64),
            (a.lanes(np.int64), a.lanes(np.int64), a.lanes(np.int64)),
        )  # fmt: skip
        kernels.timing(a.pa, a.inputs.timing, a.z, r0, w, a.cols, cap, late, fa, no_lanes(a.P),
                       False)  # fmt: skip
        kernels.total_power_inverse(cap, w, inv)
        pw = a.inputs.power
        kernels.contest(pw.aggressor, pw.exponent, a.u, r0, w, a.cols, c_star)
        return x, shift, cap, late, inv, c_star

    def decisions(self, t=0):
        """attributed, act (W,) masks after the decision pass and ent, act after chain-ganging."""
        x, shift, cap, late, inv, c_star = self.world()
        attributed, act, ent = self.lanes(np.int64), self.lanes(np.int64), self.lanes(np.int64)
        kernels.attribution(self.pa.attribution[t], self.u, self.r0, self.w, self.cols, attributed)
        s, pa = self.lanes(rows=4), self.pa
        coalition.decide(
            pa.thr[t],
            pa.expected[t],
            pa.buck,
            attributed,
            x,
            shift,
            cap,
            inv,
            self.net,
            self.w,
            s,
            act,
        )
        chained = act.copy()
        coalition.chain_ganging(
            self.net, self.u, self.r0, self.w, self.cols.chain, chained, ent, self.lanes(), 0
        )
        return attributed, act, chained, ent


def no_lanes(rows, dtype=float):
    """A (rows, 0) array: the war's arrays in a kernel without the war as a process."""
    return np.empty((rows, 0), dtype=dtype)


def simple_wx(a):
    """The war context of :func:`forecast.model.coalition.outcome` without the war as a process
    (``wx[0]`` false: the coalition's power decides), shaped as the kernel builds it."""
    P, wr = a.P, a.inputs.war
    K = wr.cum_days.shape[1]
    i64 = np.int64
    empty = np.empty(0)
    arrays = (no_lanes(P), no_lanes(P), *(no_lanes(K) for _ in range(4)))
    ctx = (a.net.access, a.inputs.power.target, a.inputs.power.aggressor, 0.5)
    scratch = (no_lanes(P), no_lanes(P), *(empty for _ in range(6)),
               *(np.empty(0, i64) for _ in range(4)))  # fmt: skip
    rec = (False, np.zeros((K, N_PH), i64), no_lanes(K), np.zeros(1, i64), empty)
    base = (a.lanes(i64), a.lanes(), a.lanes(i64), a.lanes(i64))
    lanes = (np.empty(0, i64), no_lanes(4, i64), no_lanes(P), no_lanes(P),
             *(no_lanes(K) for _ in range(4)), empty)  # fmt: skip
    masks = (a.lanes(i64), a.lanes(i64), a.lanes(i64))
    return (False, wr, 0, *masks, np.empty(0, i64), arrays, ctx, scratch, rec, base, lanes)


def twins(helper):
    """The compiled helper and its Python function."""
    return [pytest.param(helper, id="numba"), pytest.param(helper.py_func, id="py_func")]


SEEDS = [1, 2, 3]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(kernels.resolve))
def test_resolve(fn, seed):
    a = Chunk(seed)
    x = a.lanes(rows=a.P)
    fn(a.pa, a.z, a.r0, a.w, a.cols, x)
    np.testing.assert_array_equal(x[:, : a.w].T, reference.resolve(a.pa, a.zr, a.cols))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(kernels.other_theatres))
def test_other_theatres(fn, seed):
    a = Chunk(seed)
    shift, cap = a.lanes(rows=a.P), a.lanes(rows=a.P)
    fn(a.pa, a.u, a.r0, a.w, a.cols, shift, cap)
    ref_shift, ref_cap = reference.other_theatres(a.pa, a.ur, a.cols)
    np.testing.assert_array_equal(shift[:, : a.w].T, ref_shift)
    np.testing.assert_array_equal(cap[:, : a.w].T, ref_cap)
    assert (ref_cap != a.pa.cap).any()  # someone was engaged elsewhere


@settings(max_examples=200, deadline=None)
@given(
    rule=st.integers(1, 4),
    voters=st.integers(1, 6),
    k=st.integers(1, 6),
    yes=st.integers(0, 6),
    no=st.integers(0, 6),
    vetoed=st.booleans(),
)
def test_mandate(rule, voters, k, yes, no, vetoed):
    want = bool(reference.mandate(rule, k, voters, np.array(yes), np.array(no), np.array(vetoed)))
    assert kernels.mandate(rule, k, voters, yes, no, vetoed) == want
    assert kernels.mandate.py_func(rule, k, voters, yes, no, vetoed) == want


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("perceived", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(kernels.institutions))
def test_institutions(fn, seed, perceived, rho):
    a = Chunk(seed, J=4)
    rng = np.random.default_rng(seed)
    shift = rng.normal(size=(a.P, W))
    start = shift[:, : a.w].T.copy()
    x = a.lanes(rows=a.P)
    kernels.resolve(a.pa, a.z, a.r0, a.w, a.cols, x)
    ins = a.inputs.institutions._replace(rule=np.array([1, 2, 3, 4], dtype=np.int64))
    load = np.where(ins.load > 0, rho, 0.0)
    ins = ins._replace(load=load, noise=np.sqrt(1 - load**2))
    thr = (
        (ins.vote_thr_perc, ins.abstain_thr_perc) if perceived else (ins.vote_thr, ins.abstain_thr)
    )
    n_mandates, gate = np.zeros(a.J, dtype=np.int64), a.lanes(np.int64)
    fn(ins, thr, x, a.z, a.r0, a.w, a.cols, shift, gate, n_mandates,
       (a.lanes(np.int64), a.lanes(np.int64), a.lanes(np.int64)))  # fmt: skip
    mandates = np.zeros(a.J)
    ref_shift, ref_gate = reference.institutions(
        ins, thr, x[:, : a.w].T, a.zr, a.cols, start, mandates
    )
    np.testing.assert_array_equal(shift[:, : a.w].T, ref_shift)
    np.testing.assert_array_equal(bools(gate[: a.w], a.P), ref_gate)
    np.testing.assert_array_equal(n_mandates, mandates)
    assert 0 < mandates.sum() < a.J * a.w  # some mandates, not all
    assert ref_gate.any() and (ref_shift != start).any()  # both kinds of member were exercised


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(kernels.triggered))
def test_triggered(fn, seed):
    rng = np.random.default_rng(seed)
    w, P = 300, 5
    attributed = rng.integers(0, 2**P, W).astype(np.int64)
    gate = rng.integers(0, 2**P, W).astype(np.int64)
    want = reference.triggered(bools(gate[:w], P), bools(attributed[:w], P))
    fn(gate, w, attributed)
    np.testing.assert_array_equal(bools(attributed[:w], P), want)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(kernels.timing))
def test_timing(fn, seed):
    a = Chunk(seed)
    cap = np.random.default_rng(seed).lognormal(size=(a.P, W))
    start = cap[:, : a.w].T.copy()
    late = a.lanes(np.int64)
    logd = a.lanes(rows=a.P)
    fn(a.pa, a.inputs.timing, a.z, a.r0, a.w, a.cols, cap, late, a.lanes(), logd, True)
    ref_cap, ref_late, ref_logd, _ = reference.timing(a.pa, a.inputs.timing, a.zr, a.cols, start)
    np.testing.assert_array_equal(logd[:, : a.w].T, ref_logd)
    np.testing.assert_array_equal(cap[:, : a.w].T, ref_cap)
    np.testing.assert_array_equal(bools(late[: a.w], a.P), ref_late)
    assert ref_late.any() and not ref_late.all()


@pytest.mark.parametrize("fn", twins(kernels.total_power_inverse))
def test_total_power_inverse(fn):
    cap = np.random.default_rng(0).lognormal(size=(4, W))
    cap[:, :5] = 0.0  # no partner power: 0, not inf
    inv = np.empty(W)
    fn(cap, 100, inv)
    ref = reference.total_power_inverse(cap[:, :100].T)
    np.testing.assert_array_equal(inv[:100], ref)
    assert (ref[:5] == 0).all() and (ref[5:] > 0).all()


@pytest.mark.parametrize("exponent", [None, 1.0, 2.0], ids=["random", "odds", "square-root"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(kernels.contest))
def test_contest(fn, seed, exponent):
    """The coalition's winning power A (u / (1 - u))^(1/m): at m = 1 and m = 2 from the odds
    and their square root, otherwise through log and exp; float for float."""
    a = Chunk(seed)
    c_star = a.lanes()
    pw = a.inputs.power
    m = pw.exponent if exponent is None else exponent
    fn(pw.aggressor, m, a.u, a.r0, a.w, a.cols, c_star)
    ref = reference.contest(pw.aggressor, m, a.ur, a.cols)
    np.testing.assert_array_equal(c_star[: a.w], ref)
    general = reference.winning_power(pw.aggressor, m, a.ur[:, a.cols.contest])
    np.testing.assert_allclose(ref, general, rtol=1e-13)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(kernels.attribution))
def test_attribution(fn, seed):
    a = Chunk(seed)
    attr = a.pa.attribution[0].copy()
    attr[:2] = (1.0, 0.0)  # always and never: no uniform read
    out = a.lanes(np.int64)
    fn(attr, a.u, a.r0, a.w, a.cols, out)
    np.testing.assert_array_equal(bools(out[: a.w], a.P), reference.attribution(attr, a.ur, a.cols))


def _world_rows(a, x, shift, cap, inv):
    return x[:, : a.w].T, shift[:, : a.w].T, cap[:, : a.w].T, inv[: a.w]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(coalition.decide))
def test_decide(fn, seed):
    a = Chunk(seed)
    x, shift, cap, _, inv, _ = a.world()
    attributed, act = a.lanes(np.int64), a.lanes(np.int64)
    kernels.attribution(a.pa.attribution[1], a.u, a.r0, a.w, a.cols, attributed)
    pa, s = a.pa, a.lanes(rows=4)
    fn(pa.thr[1], pa.expected[1], pa.buck, attributed, x, shift, cap, inv, a.net, a.w, s, act)
    xr, sr, cr, ir = _world_rows(a, x, shift, cap, inv)
    ref = reference.decide(
        pa.thr[1], pa.expected[1], pa.buck, bools(attributed[: a.w], a.P), xr, sr, cr, ir, a.net
    )
    np.testing.assert_array_equal(bools(act[: a.w], a.P), ref)
    assert ref.any() and not ref.all()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(coalition.chain_ganging))
def test_chain_ganging(fn, seed):
    a = Chunk(seed, P=7)
    _, act, _, _ = a.decisions()
    before = bools(act[: a.w], a.P)
    ent = a.lanes(np.int64)
    fn(a.net, a.u, a.r0, a.w, a.cols.chain, act, ent, a.lanes(), 0)
    ref_act, ref_ent = reference.chain_ganging(a.net, a.ur, a.cols.chain, before)
    np.testing.assert_array_equal(bools(act[: a.w], a.P), ref_act)
    np.testing.assert_array_equal(bools(ent[: a.w], a.P), ref_ent)
    assert ref_ent.any()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(coalition.coalition_power))
@pytest.mark.parametrize("flip", [0, 0b101])
def test_coalition_power(fn, seed, flip):
    a = Chunk(seed, P=6)
    _, cap, _ = a.world()[1:4]
    _, _, act, _ = a.decisions()
    out = a.lanes()
    fn(act, flip, a.w, cap, a.net.access, a.inputs.power.target, a.lanes(), out)
    acting = bools(act[: a.w], a.P) ^ bools(np.full(a.w, flip), a.P)
    ref = reference.coalition_power(acting, cap[:, : a.w].T, a.net.access, a.inputs.power.target)
    np.testing.assert_array_equal(out[: a.w], ref)
    for i in range(a.P):
        fi = a.lanes()
        coalition.partner_power(i, act, flip, a.w, cap, a.net.access, fi)
        want = reference.partner_power(i, acting, cap[:, : a.w].T, a.net.access)
        np.testing.assert_array_equal(fi[: a.w], want)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(coalition.pivotality))
@pytest.mark.parametrize("dependent", [True, False])
def test_pivotality(fn, seed, dependent):
    """Every partner re-decided (dependent), or only access between them: the shortcuts."""
    a = Chunk(seed, P=6)
    if not dependent:
        _independent(a)
    x, shift, cap, _, inv, c_star = a.world()
    attributed, _, act, _ = a.decisions()
    pa, target, w = a.pa, a.inputs.power.target, a.w
    c = a.lanes()
    coalition.coalition_power(act, 0, w, cap, a.net.access, target, a.lanes(), c)
    piv, flips = np.zeros(a.P, dtype=np.int64), np.zeros(a.P, dtype=np.int64)
    scratch = (a.lanes(rows=4), np.empty(a.P), np.empty(a.P), a.lanes(np.int64),
               a.lanes(np.int64), a.lanes(np.int64), a.lanes(), a.lanes(), a.lanes())  # fmt: skip
    world = (attributed, x, shift, cap, inv)
    outs = (a.lanes(np.int64, rows=a.P), a.lanes(rows=a.P))
    fn(pa.thr[0], pa.expected[0], pa.attribution[0], pa.buck, world, a.net, a.u, a.r0, w,
       a.cols.chain, act, c, c_star, target, scratch, piv, flips, outs, simple_wx(a))  # fmt: skip
    rows = (bools(attributed[:w], a.P), *_world_rows(a, x, shift, cap, inv))
    ref_piv, ref_flips = reference.pivotality(
        pa.thr[0], pa.expected[0], pa.attribution[0], pa.buck, rows, a.net, a.ur, a.cols.chain,
        bools(act[:w], a.P), c[:w], c_star[:w], target,
    )  # fmt: skip
    np.testing.assert_array_equal(piv, ref_piv)
    np.testing.assert_array_equal(flips, ref_flips)
    # the forced-out worlds: the reference's perceived world with each partner forced out, when
    # the aggressor perceives the true thresholds
    ref = reference.pivotality_deterrence(
        pa.thr[0], pa.expected[0], pa.buck, rows, a.net, a.ur, a.cols.chain, bools(act[:w], a.P),
        c[:w], c_star[:w], target,
    )  # fmt: skip
    won = outs[1][:, :w] > c_star[:w]
    np.testing.assert_array_equal(won.sum(axis=1), ref[2])
    np.testing.assert_array_equal(
        np.stack([bools(outs[0][i, :w], a.P).sum(axis=0) for i in range(a.P)]), ref[4]
    )
    assert a.net.rerun.all() if dependent else not a.net.rerun.any()
    assert flips.sum() > 0 and (np.abs(piv) <= flips).all()
    if not dependent:
        assert a.net.host.any()


def _independent(a):
    """The chunk's network with access only (nobody's decision depends on another's)."""
    net, P = a.net, a.P
    no = np.zeros((P, P))
    a.net = inputs.network(
        np.arange(P), np.array([0, P]), no > 0, no, no, net.access.value, np.zeros(P)
    )
    a.pa = a.pa._replace(buck=np.zeros(P))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(coalition.pivotality_deterrence))
@pytest.mark.parametrize("dependent", [True, False])
def test_pivotality_deterrence(fn, seed, dependent):
    """The perceived world with each partner forced out: every partner re-decided (dependent),
    or only access between them (the shortcuts); counts equal to the reference's."""
    a = Chunk(seed, P=6)
    if not dependent:
        _independent(a)
    x, shift, cap, _, inv, c_star = a.world()
    attributed = a.lanes(np.int64)
    kernels.attribution(a.pa.attribution[0], a.u, a.r0, a.w, a.cols, attributed)
    pa, target, w, P = a.pa, a.inputs.power.target, a.w, a.P
    world = (attributed, x, shift, cap, inv)
    pact, c_perc = a.lanes(np.int64), a.lanes()
    perc_scratch = (a.lanes(rows=4), pact, a.lanes(np.int64), a.lanes(), c_perc)
    kernels.misperception(pa.thr_perc[0], pa.expected_perc[0], pa, world, a.net, a.u, a.r0, w,
                          a.cols.chain, target, c_star, perc_scratch, simple_wx(a))  # fmt: skip
    counts = (np.zeros(P, dtype=np.int64), np.zeros(P, dtype=np.int64),
              np.zeros(P, dtype=np.int64), np.zeros((P, P), dtype=np.int64),
              np.zeros((P, P), dtype=np.int64))  # fmt: skip
    scratch = (a.lanes(rows=4), np.empty(P), np.empty(P), a.lanes(np.int64), a.lanes(np.int64),
               a.lanes(), a.lanes(), np.empty(P, dtype=np.int64))  # fmt: skip
    outs = (a.lanes(np.int64, rows=P), a.lanes(rows=P))  # not read: perception is not exact
    n_win = fn(pa.thr_perc[0], pa.expected_perc[0], pa.buck, world, a.net, a.u, a.r0, w,
               a.cols.chain, pact, c_perc, c_star, target, scratch, counts, False,
               outs, simple_wx(a))  # fmt: skip
    rows = (bools(attributed[:w], P), *_world_rows(a, x, shift, cap, inv))
    ref = reference.pivotality_deterrence(
        pa.thr_perc[0], pa.expected_perc[0], pa.buck, rows, a.net, a.ur, a.cols.chain,
        bools(pact[:w], P), c_perc[:w], c_star[:w], target,
    )  # fmt: skip
    assert n_win == ref[0]
    for got, want in zip(counts, ref[1:], strict=True):
        np.testing.assert_array_equal(got, want)
    pjoin, _, pwin_flips, pjoin_out, pjoin_flips = counts
    assert (np.diag(pjoin_out) == 0).all() and (np.diag(pjoin_flips) == pjoin).all()
    assert pwin_flips.sum() > 0
    off = ~np.eye(P, dtype=bool)
    if dependent:
        assert a.net.rerun.any() and pjoin_flips[off].sum() > 0
    else:  # only i's own choice changes
        assert not a.net.rerun.any() and pjoin_flips[off].sum() == 0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(kernels.misperception))
def test_misperception(fn, seed):
    a = Chunk(seed)
    x, shift, cap, _, inv, c_star = a.world()
    attributed = a.lanes(np.int64)
    kernels.attribution(a.pa.attribution[0], a.u, a.r0, a.w, a.cols, attributed)
    pact = a.lanes(np.int64)
    scratch = (a.lanes(rows=4), pact, a.lanes(np.int64), a.lanes(), a.lanes())
    target = a.inputs.power.target
    world = (attributed, x, shift, cap, inv)
    pa = a.pa
    n_win = fn(pa.thr_perc[0], pa.expected_perc[0], pa, world, a.net, a.u, a.r0, a.w,
               a.cols.chain, target, c_star, scratch, simple_wx(a))  # fmt: skip
    rows = (bools(attributed[: a.w], a.P), *_world_rows(a, x, shift, cap, inv))
    ref_pact, ref_win, _ = reference.misperception(
        a.pa.thr_perc[0],
        a.pa.expected_perc[0],
        a.pa,
        rows,
        a.net,
        a.ur,
        a.cols.chain,
        target,
        c_star[: a.w],
    )
    np.testing.assert_array_equal(bools(pact[: a.w], a.P), ref_pact)
    assert n_win == ref_win


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fn", twins(kernels.tally))
def test_tally(fn, seed):
    a = Chunk(seed)
    _, _, cap, late, _, c_star = a.world()
    _, _, act, ent = a.decisions()
    pact = np.random.default_rng(seed).integers(0, 2**a.P, W)
    c = np.random.default_rng(seed).lognormal(1, 1, W)
    by_type, by_partner = np.zeros(kernels.N_T, dtype=np.int64), np.zeros((kernels.N_TP, a.P), int)
    fn(act, ent, pact, late, c, c_star, a.w, 17, by_type, by_partner)
    ref_t, ref_p = np.zeros(kernels.N_T), np.zeros((a.P, kernels.N_TP))
    m = [bools(v[: a.w], a.P) for v in (act, ent, pact, late)]
    reference.tally(*m, c[: a.w], c_star[: a.w], 17, ref_t, ref_p)
    np.testing.assert_array_equal(by_type, ref_t)
    np.testing.assert_array_equal(by_partner.T, ref_p)


@settings(max_examples=40, deadline=None)
@given(w=st.integers(1, W), seed=st.integers(0, 2**32 - 1), spread=st.floats(0.01, 5))
def test_histogram(w, seed, spread):
    c = np.random.default_rng(seed).lognormal(0, spread, W)
    for fn in (kernels.histogram, kernels.histogram.py_func):
        h = np.zeros((4, kernels.N_BINS), dtype=np.int64)
        fn(c, 0.7, w, np.empty(W, np.int64), h)
        ref = np.zeros(kernels.N_BINS)
        reference.histogram(c[:w], 0.7, ref)
        np.testing.assert_array_equal(h.sum(axis=0), ref)


@settings(max_examples=25, deadline=None)
@given(
    P=st.integers(1, 9),
    K=st.integers(0, 3),
    J=st.integers(0, 3),
    w=st.integers(1, W),
    r0=st.integers(0, 50),
    mechanisms=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_decisions_on_hypothesis_shapes(P, K, J, w, r0, mechanisms, seed):
    """The decision pass and chain-ganging on any shape, with or without the mechanisms."""
    a = Chunk(seed, T=1, P=P, K=K, J=J, w=w, r0=r0, mechanisms=mechanisms)
    x, shift, cap, _, inv, _ = a.world()
    attributed, act, chained, ent = a.decisions()
    rows = _world_rows(a, x, shift, cap, inv)
    pa = a.pa
    ref = reference.decide(
        pa.thr[0], pa.expected[0], pa.buck, bools(attributed[:w], P), *rows, a.net
    )
    np.testing.assert_array_equal(bools(act[:w], P), ref)
    ref_act, ref_ent = reference.chain_ganging(a.net, a.ur, a.cols.chain, ref)
    np.testing.assert_array_equal(bools(chained[:w], P), ref_act)
    np.testing.assert_array_equal(bools(ent[:w], P), ref_ent)
