"""The war as a process in the kernel against its numpy reference, on the same random numbers,
and one phase with nothing else against the model without the process (docs/war.md)."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.model import kernels, reference
from forecast.model.war import PH_DECIDED, PH_FOUGHT, PH_HOLD
from tests.model.kernel_cases import (
    assert_same_tallies,
    random_inputs,
    random_war,
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
