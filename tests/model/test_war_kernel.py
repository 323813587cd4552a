"""The war as a process in the kernel against its numpy reference, on the same random numbers,
and one phase with nothing else against the model without the process (docs/war.md)."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.model import kernels, reference, reference_war, war
from forecast.model.war import PH_DECIDED, PH_FOUGHT, PH_HOLD
from tests.model.kernel_cases import (
    assert_same_tallies,
    random_inputs,
    random_war,
    simple_war,
    tallies,
)


def _run(fn, case, T, P, J, K):
    out = tallies(T, P, J, K)
    fn(*case, out)
    return out


@pytest.mark.parametrize("everything", [True, False])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_process_kernel_matches_reference(seed, everything):
    """Phases, attrition, per-type balance, and (``everything``) the target's resolve,
    escalation and every kind of help: every count equal."""
    rng = np.random.default_rng(seed)
    T, P, K, J, V, n = 3, 5, 2, 2, 3, 3000

    def war(rng, T, P, a, m):
        return random_war(rng, T, P, a, m, phases=3, everything=everything)

    case = random_inputs(rng, T, P, K, J, V, n, True, war=war)
    a = _run(kernels.simulate_block, case, T, P, J, 3)
    b = _run(reference.simulate_block, case, T, P, J, 3)
    assert_same_tallies(a, b, f"seed={seed}")
    # the mechanisms were exercised: wars decided in several phases, escalations, help
    decided = a.by_phase[..., PH_DECIDED]
    assert (decided[0] > 0).sum() >= 2
    np.testing.assert_array_equal(decided.sum(axis=1), np.full(T, n))
    assert (a.by_phase[..., PH_HOLD] <= n).all() and (a.by_phase[..., PH_FOUGHT] <= n).all()
    if everything:
        assert a.by_type[:, kernels.T_ESCALATION].sum() > 0
        assert a.by_partner[..., kernels.P_ARMS].sum() > 0
        assert (a.by_partner[..., kernels.P_ACCESS] >= a.by_partner[..., kernels.P_JOIN]).all()
        assert a.by_partner[..., kernels.P_PWIN_FLIPS].sum() > 0
        # bases and arms forced and withheld changed some wars
        assert a.by_partner[..., kernels.P_FLIPS_ACCESS].sum() > 0
        assert a.by_partner[..., kernels.P_FLIPS_ARMS].sum() > 0


def test_process_kernel_matches_reference_in_pure_python():
    """The same with the kernel's Python source (numba's semantics, checked line by line)."""
    rng = np.random.default_rng(9)
    T, P, K, J, V, n = 2, 4, 1, 1, 3, 700
    case = random_inputs(
        rng, T, P, K, J, V, n, True, war=lambda rng, T, P, a, m: random_war(rng, T, P, a, m)
    )
    a = _run(kernels.simulate_block.py_func, case, T, P, J, 3)
    b = _run(reference.simulate_block, case, T, P, J, 3)
    assert_same_tallies(a, b)


@pytest.mark.parametrize("seed", [4, 5])
def test_one_phase_of_the_process_is_the_model_without_it(seed):
    """One phase, no resolve, escalation or help, the same balance: the process's war gives the
    counts of the model without the process, count for count, on every mechanism of the rest
    (votes, timing, buck-passing, chain-ganging, access, misperception, pivotality)."""
    rng = np.random.default_rng(seed)
    T, P, K, J, V, n = 2, 6, 2, 2, 3, 4000
    inputs, z, u = random_inputs(rng, T, P, K, J, V, n, True)
    wr = inputs.war
    one = wr._replace(
        general=True,
        attrition=0.4,  # nothing to wear down in one phase
        help_thr=np.full((3, P), -np.inf),
        help_load=np.ones((3, P)),
        help_noise=np.zeros((3, P)),
        arms=np.zeros(P),
        arms_from=np.zeros(P, dtype=np.int64),
    )
    simple = _run(kernels.simulate_block, (inputs, z, u), T, P, J, 1)
    process = _run(kernels.simulate_block, (inputs._replace(war=one), z, u), T, P, J, 1)
    for name in ("by_type", "by_partner", "mandates", "hist", "mandates_perc", "by_pair"):
        np.testing.assert_array_equal(getattr(simple, name), getattr(process, name), name)
    assert simple.by_type[:, kernels.T_WIN].sum() > 0
    np.testing.assert_array_equal(process.by_phase[:, 0, PH_DECIDED], np.full(T, n))
    np.testing.assert_array_equal(
        process.by_phase[:, 0, PH_HOLD], n - process.by_type[:, kernels.T_WIN]
    )


@pytest.mark.parametrize(
    "exponents",
    [(2.0, 1.5, 2.0), (1.0, 2.0, 1.0), (1.7, 1.0, 1.7), (1.0, 1.0, 2.0)],
    ids=["2-1.5-2", "1-2-1", "1.7-1-1.7", "1-1-2"],
)
@pytest.mark.parametrize("slope", [1.0, 0.7])
def test_the_odds_without_a_log_match_the_reference(exponents, slope):
    """Contest exponents of 1 and 2 (the odds, their square root) beside others, types that copy
    a phase's odds from an earlier type with the same exponent, and the target's resolve at
    slope 1 (the odds times exp(-L)) or another: every count equal to the reference's."""
    rng = np.random.default_rng(int(10 * sum(exponents) + 10 * slope))
    T, P, K, J, V, n = 3, 5, 2, 2, 3, 3000

    def war(rng, T, P, a, m):
        w = random_war(rng, T, P, a, m, phases=3)
        return w._replace(exponent=np.array(exponents), resolve_slope=slope)

    case = random_inputs(rng, T, P, K, J, V, n, True, war=war)
    a = _run(kernels.simulate_block, case, T, P, J, 3)
    b = _run(reference.simulate_block, case, T, P, J, 3)
    assert_same_tallies(a, b, f"exponents={exponents} slope={slope}")
    assert a.by_type[:, kernels.T_WIN].sum() > 0


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_the_contest_without_a_log_matches_the_reference(exponent):
    """The model without the process at a contest exponent of 1 or 2: the kernel's odds (or
    their square root) and the reference's, count for count."""
    rng = np.random.default_rng(int(exponent) + 20)
    T, P, K, J, V, n = 2, 5, 2, 2, 3, 3000
    case = random_inputs(
        rng, T, P, K, J, V, n, True, war=lambda rng, T, P, a, m: simple_war(T, a, exponent)
    )
    a = _run(kernels.simulate_block, case, T, P, J, 1)
    b = _run(reference.simulate_block, case, T, P, J, 1)
    assert_same_tallies(a, b, f"exponent={exponent}")
    assert a.by_type[:, kernels.T_WIN].sum() > 0


def _chunk_with_war(seed, exponents, slope):
    """A random case whose types have ``exponents`` and whose resolve has ``slope``, and its
    first chunk's lanes (r0, w)."""
    rng = np.random.default_rng(seed)
    T, P, K, J, V = len(exponents), 5, 2, 2, 3

    def make(rng, T, P, a, m):
        w = random_war(rng, T, P, a, m, phases=3)
        return w._replace(exponent=np.array(exponents, dtype=float), resolve_slope=slope)

    return random_inputs(rng, T, P, K, J, V, 400, True, war=make), 37, 300


@pytest.mark.parametrize(
    "exponents", [(2.0, 1.5, 2.0), (1.0, 2.0, 1.0), (1.7, 1.0, 1.7), (3.0, 3.0, 0.8)]
)
def test_phase_odds_equal_the_reference_float_for_float(exponents):
    """Each type's phase odds (u / (1 - u))^(1/m): the odds at m = 1, their square root at
    m = 2, exp(log-odds / m) otherwise, and copies between types of the same exponent, equal
    to the reference's bit for bit (counts alone would not show a last-bit difference)."""
    (inp, z, u), r0, w = _chunk_with_war(7, exponents, 1.0)
    wr, cols = inp.war, inp.columns
    T, K, W = len(exponents), wr.cum_days.shape[1], kernels.LANES
    lq, q = np.zeros((K, W)), np.zeros((T, K, W))
    need = max((int(wr.n_phases[t]) for t in range(T) if not war.odds_root(wr.exponent[t])),
               default=0)  # fmt: skip
    war.phase_logodds(u, r0, w, cols.contest, cols.phase, lq, need)
    for t in range(T):
        war.phase_odds(wr, t, lq, u, r0, w, cols, q)
        ref = reference_war.phase_odds(
            wr, t, u[r0 : r0 + w], cols.contest, cols.phase, 1.0 / wr.exponent[t]
        )
        np.testing.assert_array_equal(q[t, : int(wr.n_phases[t]), :w], ref, err_msg=f"type {t}")
        if wr.exponent[t] == 2.0:  # the square root is the exact odds' root: as exp(log / 2)
            np.testing.assert_allclose(ref, np.exp(np.log(ref**2)) ** 0.5, rtol=1e-15)


@pytest.mark.parametrize("slope", [1.0, 0.7, 0.0, -0.5])
def test_resolve_power_equals_the_reference_float_for_float(slope):
    """The target's resolve thresholds rpow = exp((logit(u) - L) / b) of every phase (at b = 1
    the odds times exp(-L)), equal to the reference's bit for bit, and at b = 1 within
    rounding of the general form."""
    (inp, z, u), r0, w = _chunk_with_war(8, (2.0, 1.5, 1.0), slope)
    wr, cols = inp.war, inp.columns
    K, W = wr.cum_days.shape[1], kernels.LANES
    rpow = np.zeros((K, W))
    esc = (np.empty((K, W)), np.empty((K, W), dtype=np.int64), np.zeros(K, dtype=np.int64))
    war.phase_draws(wr, u, r0, w, cols, np.zeros(W), rpow, esc, np.zeros(W, np.int64))
    for k in range(K):
        uc = u[r0 : r0 + w, cols.resolve + k]
        ref = reference_war.resolve_power(wr, uc)
        np.testing.assert_array_equal(rpow[k, :w], ref, err_msg=f"phase {k}")
        if slope == 1.0:
            general = np.exp(np.log(uc / (1.0 - uc)) - wr.resolve_logit)
            np.testing.assert_allclose(ref, general, rtol=1e-13)
