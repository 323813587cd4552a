"""Kernel against reference on the same pre-drawn numbers: every count must agree exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from forecast.model import kernels, random_numbers, reference
from forecast.model.beliefs import kernel_inputs, partner_flags
from forecast.sampling import sampler
from tests.conftest import REPO, quick_config


def random_inputs(rng, T, P, K, J, V, n, mechanisms=True):
    """Random but valid kernel arguments, with every mechanism switched on when asked."""
    loadings = rng.uniform(-1, 1, (P, K)) / np.sqrt(max(K, 1) * 1.5)
    layout = np.full(kernels.N_LAYOUT, -1, dtype=np.int64)
    nz = nu = 0
    for key, width, on in (
        (kernels.L_FACTOR, K, True),
        (kernels.L_IDIO, P, True),
        (kernels.L_DELAY, P, mechanisms),
        (kernels.L_FA, 1, mechanisms),
    ):
        if on:
            layout[key], nz = nz, nz + width
    for key, width, on in (
        (kernels.L_CONTEST, 1, True),
        (kernels.L_ATTR, P, mechanisms),
        (kernels.L_ENGAGED, P, mechanisms),
        (kernels.L_VOTE, J * V, mechanisms and J > 0),
        (kernels.L_CHAIN, P, mechanisms),
    ):
        if on:
            layout[key], nu = nu, nu + width
    order = rng.permutation(P).astype(np.int64)
    requires = np.zeros((P, P), dtype=np.bool_)
    follows = np.zeros((P, P))
    if mechanisms:  # dependencies only on partners earlier in the order: acyclic
        for a in range(1, P):
            lead = order[rng.integers(0, a)]
            if rng.random() < 0.5:
                requires[order[a], lead] = True
            else:
                follows[order[a], lead] = rng.normal(0, 1)
    inst_rule = np.zeros((J, 3))
    for j in range(J):
        nv = int(rng.integers(1, V + 1))
        inst_rule[j] = (rng.integers(0, 5) if mechanisms else 0, rng.integers(1, nv + 1), nv)
    on = float(mechanisms)
    thr = rng.normal(0, 1, (T, P))
    access = 1 - rng.uniform(0, 0.8, (P, P)) * (rng.random((P, P)) < 0.3) * on
    np.fill_diagonal(access, 1.0)
    allies = rng.uniform(0, 0.6, (P, P)) * (rng.random((P, P)) < 0.3) * on
    static = {"buck": np.zeros(P), "requires": requires, "follows": follows}
    flags = partner_flags({**static, "access": access, "allies": allies})
    return {
        "thr": thr,
        "thr_perc": thr + rng.normal(0, 0.5, (T, P)),
        "attribution": rng.uniform(0.3, 1, (T, P)) if mechanisms else np.ones((T, P)),
        "loadings": loadings,
        "idio": np.sqrt(1 - (loadings**2).sum(axis=1)),
        "order": order,
        "requires": requires,
        "follows": follows,
        "buck": rng.uniform(0, 2, P) * on,
        "cap": rng.lognormal(0, 0.7, P),
        "access": access,
        "engaged": np.column_stack(
            [rng.uniform(0, 0.5, P) * on, rng.uniform(0.2, 1, P), rng.normal(0, 0.5, P)]
        ),
        "allies": allies,
        "flags": flags,
        "log_delay": np.log(rng.uniform(1, 30, P)),
        "delay_spread": rng.uniform(0, 0.6, P) * on,
        "timing": np.array([np.log(rng.uniform(5, 25)) if mechanisms else np.inf, 0.3 * on, 0.5]),
        "inst_vote": rng.uniform(0, 1, (J, V)),
        "inst_abstain": rng.uniform(0, 1, (J, V)),
        "inst_member": rng.random((J, P)) < 0.5,
        "inst_rule": inst_rule,
        "inst_veto": rng.random((J, V)) < 0.3,
        "inst_shift": rng.normal(0, 0.7, (J, 2)),
        "power": np.array([rng.lognormal(0, 0.5), rng.lognormal(1, 0.5), rng.uniform(0.5, 3)]),
        "layout": layout,
        "z": rng.standard_normal((n, nz)),
        "u": rng.random((n, nu)),
    }


def accumulators(T, P, J):
    return {
        "acc_t": np.zeros((T, kernels.N_T)),
        "acc_tp": np.zeros((T, P, kernels.N_TP)),
        "acc_j": np.zeros(J),
        "hist": np.zeros((T, kernels.N_BINS)),
    }


def run_both(fn, args, T, P, J):
    a, b = accumulators(T, P, J), accumulators(T, P, J)
    fn(**args, **a)
    reference.simulate_block(**args, **b)
    return a, b


@pytest.mark.parametrize("fn", [kernels.simulate_block, kernels.simulate_block.py_func])
@pytest.mark.parametrize("mechanisms", [False, True])
def test_kernel_matches_reference_on_same_numbers(fn, mechanisms):
    rng = np.random.default_rng(7)
    T, P, K, J, V, n = 3, 5, 2, 2, 4, 4000
    args = random_inputs(rng, T, P, K, J, V, n, mechanisms)
    a, b = run_both(fn, args, T, P, J)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # the mechanisms really were exercised
    assert a["acc_tp"][..., kernels.P_JOIN].sum() > 0
    if mechanisms:
        assert a["acc_tp"][..., kernels.P_ENTANGLED].sum() > 0
        assert a["acc_tp"][..., kernels.P_IN_TIME].sum() < a["acc_tp"][..., kernels.P_JOIN].sum()


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
    args = random_inputs(rng, T, P, K, J, V, n, mechanisms)
    a, b = run_both(kernels.simulate_block, args, T, P, J)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # every crisis is counted once per attack type in the histogram
    np.testing.assert_array_equal(a["hist"].sum(axis=1), np.full(T, n))


@pytest.mark.parametrize("fn", [kernels.contest, kernels.contest.py_func, reference.contest])
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
        assert reference.contest(c, a, m) == pytest.approx(u)


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
    args = random_inputs(rng, T, P, K, J, V, n, mechanisms=True)
    args["cap"] = np.zeros(P)
    args["buck"] = np.full(P, 1.5)
    a, b = run_both(kernels.simulate_block, args, T, P, J)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert a["acc_tp"][..., kernels.P_JOIN].sum() > 0


@njit
def _lanes_log_exp(y, x):
    n = y.shape[0]
    bits = np.empty(n, dtype=np.int64)
    log_y, exp_x = np.empty(n), np.empty(n)
    kernels.log_lanes(y.copy(), n, bits, log_y)
    kernels.exp_lanes(x, n, bits, exp_x)
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
    assert log_y[4] == log_y[5] == math.log(kernels.TINY)
    assert exp_x[0] == 1.0 and exp_x[3] == math.exp(kernels.EXP_HI)
    libm_log = np.log(np.maximum(y, kernels.TINY))
    assert np.max(np.abs(log_y - libm_log) / np.spacing(np.abs(libm_log) + 1e-300)) <= 1.0
    libm_exp = np.exp(np.minimum(x, kernels.EXP_HI))
    assert np.max(np.abs(exp_x - libm_exp) / np.spacing(libm_exp)) <= 1.0


def test_kernel_same_counts_on_fortran_ordered_blocks():
    """The sampler hands the kernel Fortran-ordered blocks: same numbers, same counts."""
    rng = np.random.default_rng(11)
    T, P, K, J, V, n = 3, 6, 2, 2, 3, 3 * kernels.LANES + 5
    args = random_inputs(rng, T, P, K, J, V, n, mechanisms=True)
    a, b = accumulators(T, P, J), accumulators(T, P, J)
    kernels.simulate_block(**args, **a)
    fortran = {**args, "z": np.asfortranarray(args["z"]), "u": np.asfortranarray(args["u"])}
    kernels.simulate_block(**fortran, **b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert a["acc_tp"][..., kernels.P_PIVOTAL].sum() > 0


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
    for d in range(plan.n_draws):
        a, b = accumulators(T, P, J), accumulators(T, P, J)
        kernels.simulate_block(**kernel_inputs(m, plan.draws, d), z=z, u=u, **a)
        kernels.simulate_block(**kernel_inputs(m, plan.draws, d), z=z2, u=u2, **b)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{scenario} {key}")
    if scenario == "taiwan":  # attribution (USA, JPN), engaged (USA), allies (JPN, PHL), contest
        assert m.random_numbers_per_crisis == (10, 6)
        assert (m.n_normals, m.n_uniforms) == (10, 13)


def test_turning_a_mechanism_on_keeps_common_random_numbers():
    """USA engaged elsewhere with probability 0 (its uniform column is not drawn) or 1e-12 (it
    is, and is never below 1e-12 here): every other column keeps its numbers, so every count of
    every draw is identical. Were the columns one stream, the extra column would shift all the
    numbers after it."""
    base = "scenario=taiwan"
    runs = []
    for p in ("0.0", "1e-12"):
        plan = sampler.make_plan(
            quick_config(base, f"scenario.actors.USA.engaged.probability={p}", draws=4)
        )
        runs.append((plan.model.u_drawn.sum(), sampler.run_draws(plan, range(4))))
    (n0, a), (n1, b) = runs
    assert n1 == n0 + 1
    for key in ("by_type", "by_partner", "hist", "n"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
