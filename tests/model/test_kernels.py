"""Kernel against reference on the same pre-drawn numbers: every count must agree exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from forecast.model import kernels, lanes, random_numbers, reference
from forecast.model.inputs import kernel_inputs
from forecast.sampling import sampler
from tests.conftest import REPO, quick_config
from tests.model.kernel_cases import assert_same_tallies, random_inputs, tallies


def run_both(fn, case, T, P, J):
    """Tallies of ``fn`` and of the reference on the same case (inputs, z, u)."""
    a, b = tallies(T, P, J), tallies(T, P, J)
    fn(*case, a)
    reference.simulate_block(*case, b)
    return a, b


@pytest.mark.parametrize("fn", [kernels.simulate_block, kernels.simulate_block.py_func])
@pytest.mark.parametrize("mechanisms", [False, True])
def test_kernel_matches_reference_on_same_numbers(fn, mechanisms):
    rng = np.random.default_rng(7)
    T, P, K, J, V, n = 3, 5, 2, 2, 4, 4000
    case = random_inputs(rng, T, P, K, J, V, n, mechanisms)
    a, b = run_both(fn, case, T, P, J)
    assert_same_tallies(a, b)
    # the mechanisms really were exercised
    joins = a.by_partner[..., kernels.P_JOIN].sum()
    assert joins > 0
    if mechanisms:
        assert a.by_partner[..., kernels.P_ENTANGLED].sum() > 0
        assert a.by_partner[..., kernels.P_IN_TIME].sum() < joins
        assert a.mandates.sum() > 0
        assert a.by_pair[..., kernels.PP_PJOIN_FLIPS].sum() > 0
        assert a.by_partner[..., kernels.P_PWIN_FLIPS].sum() > 0


@pytest.mark.parametrize("seed", [3, 4])
def test_kernel_matches_reference_when_the_aggressor_sees_the_world_as_it_is(seed):
    """No misperception (thresholds, expectations and votes): the kernel's pivotality_deterrence
    reads pivotality's forced-out worlds (one attack type perceived exactly, the other not); the
    reference decides them again."""
    rng = np.random.default_rng(seed)
    T, P, K, J, V, n = 2, 6, 2, 1, 3, 3000
    args, z, u = random_inputs(rng, T, P, K, J, V, n, mechanisms=True)
    pa = args.partners
    thr_perc, expected_perc = pa.thr_perc.copy(), pa.expected_perc.copy()
    thr_perc[0], expected_perc[0] = pa.thr[0], pa.expected[0]
    pa = pa._replace(thr_perc=thr_perc, expected_perc=expected_perc)
    ins = args.institutions._replace(perceived=False)  # its votes are the true ones
    case = (args._replace(partners=pa, institutions=ins), z, u)
    a, b = run_both(kernels.simulate_block, case, T, P, J)
    assert_same_tallies(a, b)
    assert a.by_pair[0, ..., kernels.PP_PJOIN_FLIPS].sum() > 0
    assert a.by_partner[0, :, kernels.P_PWIN_FLIPS].sum() > 0
    # exact perception: the perceived world is the true one crisis by crisis
    np.testing.assert_array_equal(
        a.by_partner[0, :, kernels.P_PJOIN], a.by_partner[0, :, kernels.P_JOIN]
    )
    assert a.by_type[0, kernels.T_PWIN] == a.by_type[0, kernels.T_WIN]


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0])
def test_kernel_matches_reference_on_institutions(rho):
    """Votes correlated rho with the members' resolve, perceived votes and gated members."""
    rng = np.random.default_rng(11)
    T, P, K, J, V, n = 2, 5, 2, 3, 4, 3000
    inputs, z, u = random_inputs(rng, T, P, K, J, V, n, True, rho=rho)
    ins = inputs.institutions._replace(
        rule=np.array([1, 2, 3], dtype=np.int64),
        gated=inputs.institutions.member & (np.arange(P) % 2 == 0),
        perceived=True,
    )
    case = (inputs._replace(institutions=ins), z, u)
    a, b = run_both(kernels.simulate_block, case, T, P, J)
    assert_same_tallies(a, b, f"rho={rho}")
    assert 0 < a.mandates.sum() < J * n
    assert (a.mandates_perc != a.mandates).any()  # the aggressor's votes differ


@settings(max_examples=60, deadline=None)
@given(
    T=st.integers(1, 3),
    P=st.integers(1, 7),
    K=st.integers(0, 3),
    J=st.integers(0, 3),
    V=st.integers(1, 5),
    n=st.integers(1, 200),
    mechanisms=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_kernel_matches_reference_hypothesis(T, P, K, J, V, n, mechanisms, seed):
    rng = np.random.default_rng(seed)
    case = random_inputs(rng, T, P, K, J, V, n, mechanisms)
    a, b = run_both(kernels.simulate_block, case, T, P, J)
    assert_same_tallies(a, b)
    # every crisis is counted once per attack type in the histogram
    np.testing.assert_array_equal(a.hist.sum(axis=1), np.full(T, n))


@pytest.mark.parametrize(
    "fn", [kernels.contest_success, kernels.contest_success.py_func, reference.contest_success]
)
def test_contest_closed_form(fn):
    assert fn(1.0, 1.0, 1.0) == pytest.approx(0.5)
    assert fn(3.0, 1.0, 1.0) == pytest.approx(0.75)
    assert fn(2.0, 1.0, 2.0) == pytest.approx(0.8)


@pytest.mark.parametrize(
    "fn", [kernels.winning_power, kernels.winning_power.py_func, reference.winning_power]
)
def test_winning_power_inverts_the_contest(fn):
    """C > winning_power(A, m, u) exactly when u < C^m / (C^m + A^m)."""
    for a, m, u in [(1.0, 1.0, 0.5), (10.0, 2.0, 0.3), (3.0, 0.7, 0.9)]:
        c = fn(a, m, u)
        assert reference.contest_success(c, a, m) == pytest.approx(u)


def column_keys(groups):
    """(n, 2) keys of consecutive columns in the given (group, width) runs."""
    return np.array([(g, i) for g, width in groups for i in range(width)], dtype=np.int64)


@pytest.mark.parametrize("seed", [11, 2**40 + 5])
def test_fill_block_draws_numpys_streams(seed):
    """Each column is numpy's own stream: the inlined SFC64 and ziggurat give exactly
    Generator(SFC64(SeedSequence(key + [group, index]))), tails and wedges of the ziggurat
    included (200 000 normals reach both)."""
    n = 20_000
    zk = column_keys([(kernels.L_FACTOR, 2), (kernels.L_IDIO, 8)])
    uk = column_keys([(kernels.L_CONTEST, 1), (kernels.L_CHAIN, 6)])
    z, u = np.empty((n, 10), order="F"), np.empty((n, 7), order="F")
    random_numbers.fill_block(
        sampler.block_key(seed, 3, 4), z, u, np.ones(10, bool), np.ones(7, bool), zk, uk
    )
    for j, (g, i) in enumerate(zk):
        np.testing.assert_array_equal(
            z[:, j], sampler.column_generator(seed, 3, 4, g, i).standard_normal(n)
        )
    for j, (g, i) in enumerate(uk):
        np.testing.assert_array_equal(u[:, j], sampler.column_generator(seed, 3, 4, g, i).random(n))
    assert np.abs(z).max() > random_numbers.ZIGGURAT_NOR_R  # the tail was drawn


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.one_of(st.integers(0, 5), st.integers(0, 2**64 - 1)), max_size=9),
)
def test_sfc64_seed_is_numpys_seeding(words):
    """The numba SeedSequence + SFC64 seeding gives numpy's state for any key (pool-sized or
    longer, with integers of one or more 32-bit words)."""
    state = np.empty(4, dtype=np.uint64)
    entropy = [w for n in words for w in sampler.key_words(n)]
    random_numbers.sfc64_seed(np.array(entropy, dtype=np.uint64), state)
    sfc = np.random.SFC64(np.random.SeedSequence(words))
    np.testing.assert_array_equal(state, sfc.state["state"]["state"])


def test_fill_block_draws_only_the_flagged_columns():
    """Columns not flagged get a constant and consume nothing; a drawn column's numbers depend
    on its key, not on its position or on which others are drawn (so a sweep that turns a
    mechanism on keeps common random numbers)."""
    z, u = np.empty((50, 3), order="F"), np.empty((50, 4), order="F")
    zk = column_keys([(kernels.L_IDIO, 3)])
    uk = column_keys([(kernels.L_CONTEST, 1), (kernels.L_ATTR, 3)])
    z_drawn, u_drawn = np.array([True, False, True]), np.array([False, True, False, True])
    random_numbers.fill_block(sampler.block_key(11, 0, 2), z, u, z_drawn, u_drawn, zk, uk)
    z2, u2 = np.empty((50, 4), order="F"), np.empty((50, 4), order="F")  # another layout
    zk2 = column_keys([(kernels.L_FACTOR, 1), (kernels.L_IDIO, 3)])
    uk2 = column_keys([(kernels.L_ATTR, 3), (kernels.L_CONTEST, 1)])
    yes = np.ones(4, bool)
    random_numbers.fill_block(sampler.block_key(11, 0, 2), z2, u2, yes, yes, zk2, uk2)
    np.testing.assert_array_equal(z[:, [0, 2]], z2[:, [1, 3]])
    np.testing.assert_array_equal(u[:, [1, 3]], u2[:, [0, 2]])
    assert (z[:, ~z_drawn] == 0.0).all() and (u[:, ~u_drawn] == 0.5).all()


def test_kernel_matches_reference_when_no_partner_has_power():
    """Buck-passing with zero partner power: share 0 in both (no 0 / 0)."""
    rng = np.random.default_rng(3)
    T, P, K, J, V, n = 2, 4, 1, 1, 3, 2000
    args, z, u = random_inputs(rng, T, P, K, J, V, n, mechanisms=True)
    pa = args.partners._replace(cap=np.zeros(P), buck=np.full(P, 1.5))
    a, b = run_both(kernels.simulate_block, (args._replace(partners=pa), z, u), T, P, J)
    assert_same_tallies(a, b)
    assert a.by_partner[..., kernels.P_JOIN].sum() > 0


@njit
def _lanes_log_exp(y, x):
    n = y.shape[0]
    log_y, exp_x = np.empty(n), np.empty(n)
    lanes.log_lanes(y, n, log_y)
    lanes.exp_lanes(x, n, exp_x)
    return log_y, exp_x


def test_lane_log_and_exp_are_within_one_ulp_and_equal_to_the_reference():
    """fdlibm's log and exp in plain arithmetic: under 1 ulp from libm's over the whole range the
    kernel can meet, and bit for bit the reference's numpy evaluation of the same arithmetic."""
    rng = np.random.default_rng(5)
    y = np.exp(rng.uniform(-690, 700, 100_000))
    y[:6] = [1.0, 2.0, 0.5, np.e, 1e-320, 0.0]  # exact cases, then a subnormal and 0: clamped
    x = rng.uniform(-708, 709, 100_000)
    x[:4] = [0.0, 1.0, -1.0, 800.0]  # 800 is clamped to EXP_HI
    log_y, exp_x = _lanes_log_exp(y, x)
    np.testing.assert_array_equal(log_y, reference.log_(y))
    np.testing.assert_array_equal(exp_x, reference.exp_(x))
    assert log_y[0] == 0.0 and log_y[1] == math.log(2.0) and log_y[2] == -math.log(2.0)
    assert log_y[4] == log_y[5] == math.log(lanes.TINY)
    assert exp_x[0] == 1.0 and exp_x[3] == math.exp(lanes.EXP_HI)
    libm_log = np.log(np.maximum(y, lanes.TINY))
    assert np.max(np.abs(log_y - libm_log) / np.spacing(np.abs(libm_log) + 1e-300)) <= 1.0
    libm_exp = np.exp(np.minimum(x, lanes.EXP_HI))
    assert np.max(np.abs(exp_x - libm_exp) / np.spacing(libm_exp)) <= 1.0


def test_kernel_same_counts_on_fortran_ordered_blocks():
    """The sampler hands the kernel Fortran-ordered blocks: same numbers, same counts."""
    rng = np.random.default_rng(11)
    T, P, K, J, V, n = 3, 6, 2, 2, 3, 3 * kernels.LANES + 5
    args, z, u = random_inputs(rng, T, P, K, J, V, n, mechanisms=True)
    a, b = tallies(T, P, J), tallies(T, P, J)
    kernels.simulate_block(args, z, u, a)
    kernels.simulate_block(args, np.asfortranarray(z), np.asfortranarray(u), b)
    assert_same_tallies(a, b)
    assert a.by_partner[..., kernels.P_PIVOTAL].sum() > 0


SCENARIOS = sorted(p.stem for p in (REPO / "configs" / "scenario").glob("*.yaml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_columns_not_drawn_cannot_change_an_outcome(scenario):
    """The sampler draws only model.z_drawn / u_drawn; whatever the other columns hold, every
    count of every draw is the same (so skipping them changes no result's distribution)."""
    plan = sampler.make_plan(quick_config(f"scenario={scenario}", draws=3, realizations=3000))
    m = plan.model
    n = 3000
    z, u = np.empty((n, m.n_normals), order="F"), np.empty((n, m.n_uniforms), order="F")
    random_numbers.fill_block(sampler.block_key(3, 0, 0), z, u, *m.random_columns)
    rng = np.random.default_rng(4)
    z2, u2 = z.copy(), u.copy()
    z2[:, ~m.z_drawn] = rng.standard_normal((n, int((~m.z_drawn).sum())))
    u2[:, ~m.u_drawn] = rng.random((n, int((~m.u_drawn).sum())))
    T, P, J = len(m.attack_types), m.n_partners, len(m.institutions)
    K = m.static["war"]["cum_days"].shape[1]
    for d in range(plan.n_draws):
        a, b = tallies(T, P, J, K), tallies(T, P, J, K)
        kernels.simulate_block(kernel_inputs(m, plan.draws, d), z, u, a)
        kernels.simulate_block(kernel_inputs(m, plan.draws, d), z2, u2, b)
        assert_same_tallies(a, b, scenario)
    if scenario == "taiwan":
        # normals: factor, resolve (4), delays (4), fait accompli, and the help decisions of
        # Japan's bases and US arms (their own parts: correlations 0.6 and 0.5); uniforms:
        # attribution (USA, JPN), engaged (USA), allies (JPN, PHL), the contest, the second
        # phase's contest, and the target's resolve and escalation in each of two phases
        assert m.random_numbers_per_crisis == (12, 11)
        # a help column for every partner and kind (3 x 4), drawn only where used
        assert (m.n_normals, m.n_uniforms) == (22, 18)


def test_turning_a_mechanism_on_keeps_common_random_numbers():
    """USA engaged elsewhere with probability 0 (its uniform column is not drawn) or 1e-12 (it
    is, and is never below 1e-12 here): every other column keeps its numbers, so every count of
    every draw is identical. Were the columns one stream, the extra column would shift all the
    numbers after it."""
    base = "scenario=taiwan"
    runs = []
    # with probability 0 the factor and shift cannot take effect (an error): their defaults
    engaged = "scenario.actors.USA.engaged"
    off = [f"{engaged}.capability_factor=1.0", f"{engaged}.willingness_shift=0.0"]
    for p in ("0.0", "1e-12"):
        plan = sampler.make_plan(quick_config(base, f"{engaged}.probability={p}", *off, draws=4))
        runs.append((plan.model.u_drawn.sum(), sampler.run_draws(plan, range(4))))
    (n0, a), (n1, b) = runs
    assert n1 == n0 + 1
    for key in ("by_type", "by_partner", "hist", "n"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
