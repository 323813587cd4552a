"""Kernel against reference: exact on the same pre-drawn numbers (counts), floats to rounding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast import kernels, reference


def _inputs(rng, P, K, n):
    loadings = rng.uniform(-1, 1, (P, K)) / np.sqrt(max(K, 1) * 1.5)
    idio = np.sqrt(1 - (loadings**2).sum(axis=1))
    thr = rng.normal(0, 1, P)
    thr_perc = thr + rng.normal(0, 0.3, P)
    cap = rng.lognormal(0, 0.5, P)
    z = rng.standard_normal((n, K + P))
    return (thr, thr_perc, loadings, idio, cap, 1.3, 4.0, 1.7, z)


def _run(fn, args, P):
    acc = np.zeros(kernels.N_SCALAR)
    acc_p = np.zeros((P, kernels.N_PARTNER))
    fn(*args, acc, acc_p)
    return acc, acc_p


@pytest.mark.parametrize("fn", [kernels.simulate_block, kernels.simulate_block.py_func])
def test_kernel_matches_reference_on_same_numbers(fn):
    rng = np.random.default_rng(7)
    P, K, n = 5, 2, 3000
    args = _inputs(rng, P, K, n)
    acc_k, accp_k = _run(fn, args, P)
    acc_r, accp_r = _run(reference.simulate_block, args, P)
    np.testing.assert_array_equal(accp_k, accp_r)  # integer counts: exact
    np.testing.assert_allclose(acc_k, acc_r, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    P=st.integers(1, 8),
    K=st.integers(0, 3),
    n=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_kernel_matches_reference_hypothesis(P, K, n, seed):
    rng = np.random.default_rng(seed)
    args = _inputs(rng, P, K, n)
    acc_k, accp_k = _run(kernels.simulate_block, args, P)
    acc_r, accp_r = _run(reference.simulate_block, args, P)
    np.testing.assert_array_equal(accp_k, accp_r)
    np.testing.assert_allclose(acc_k, acc_r, rtol=1e-12)


@pytest.mark.parametrize("fn", [kernels.contest, kernels.contest.py_func])
def test_contest_closed_form(fn):
    assert fn(1.0, 1.0, 1.0) == pytest.approx(0.5)
    assert fn(3.0, 1.0, 1.0) == pytest.approx(0.75)
    assert fn(2.0, 1.0, 2.0) == pytest.approx(0.8)
    assert reference.contest(np.array([3.0]), 1.0, 1.0)[0] == pytest.approx(0.75)
