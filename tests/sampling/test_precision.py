"""The precision stopping rule, overall MCSEs, and constant memory in realizations."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.jobs.run import simulate
from tests.conftest import quick_config

STOP = ["sampler.realizations=1000", "sampler.block_size=1000", "sampler.draws=30"]


def _overall_max_mcse(ds):
    return max(float(ds[v].max()) for v in ds.data_vars if str(v).startswith("mcse_mean_"))


def test_stopping_rule_meets_the_target_reproducibly_on_any_threads():
    a = simulate(quick_config(*STOP, "sampler.target_mcse=0.002", "sampler.threads=1"))
    b = simulate(quick_config(*STOP, "sampler.target_mcse=0.002", "sampler.threads=2"))
    assert a.attrs["stopping_met"] == 1 and a.attrs["stopping_reason"] == "target met"
    assert _overall_max_mcse(a) <= 0.002
    assert a.attrs["stopping_realizations_per_draw"] > 1000  # it had to add blocks
    assert a.attrs["stopping_realizations_per_draw"] == b.attrs["stopping_realizations_per_draw"]
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_stopped_run_equals_a_plain_run_of_the_same_length():
    """Block b of draw d has the same numbers whether the rule added it or not."""
    stopped = simulate(quick_config(*STOP, "sampler.target_mcse=0.002"))
    n = stopped.attrs["stopping_realizations_per_draw"]
    plain = simulate(
        quick_config("sampler.block_size=1000", "sampler.draws=30", f"sampler.realizations={n}")
    )
    np.testing.assert_array_equal(stopped.p_join.values, plain.p_join.values)
    np.testing.assert_array_equal(stopped.p_attack.values, plain.p_attack.values)


def test_stopping_rule_reports_a_missed_target():
    ds = simulate(
        quick_config(*STOP, "sampler.target_mcse=0.00001", "sampler.max_realizations=3000")
    )
    assert ds.attrs["stopping_met"] == 0
    assert ds.attrs["stopping_reason"] == "sampler.max_realizations reached"
    assert ds.attrs["stopping_realizations_per_draw"] == 3000
    assert ds.attrs["stopping_max_mcse"] > 0.00001


def test_per_draw_scope_bounds_every_draws_mcse():
    ds = simulate(
        quick_config(
            *STOP,
            "sampler.draws=4",
            "sampler.target_mcse=0.01",
            "sampler.target_mcse_scope=draw",
        )
    )
    assert ds.attrs["stopping_met"] == 1
    worst = max(
        float(ds[v].max())
        for v in ds.data_vars
        if str(v).startswith("mcse_") and not str(v).startswith("mcse_mean_")
    )
    assert worst <= 0.01


def test_overall_mcse_is_the_root_sum_of_squares_over_draws():
    ds = simulate(quick_config(draws=10, realizations=2000))
    expected = np.sqrt((ds.mcse_p_join**2).sum("draw")) / 10
    np.testing.assert_allclose(ds.mcse_mean_p_join, expected)
    # a join frequency's MCSE is the binomial one (its validity against the spread of repeated
    # draws is tested in test_statistics: zero spread leaves only aleatory variation)
    p = ds.p_join.isel(draw=0)
    np.testing.assert_allclose(ds.mcse_p_join.isel(draw=0), np.sqrt(p * (1 - p) / 2000))


def test_memory_does_not_grow_with_realizations():
    """No per-realization arrays: the result's size is the same for 10^3 and 10^5 crises."""
    small = simulate(quick_config(draws=4, realizations=1000))
    large = simulate(quick_config(draws=4, realizations=100000))
    assert small.nbytes == large.nbytes


@pytest.mark.e2e  # a LocalCluster of worker processes
def test_stopping_rule_on_dask_stops_where_the_local_run_stops():
    local = simulate(quick_config(*STOP, "sampler.target_mcse=0.002"))
    dask = simulate(quick_config(*STOP, "sampler.target_mcse=0.002", "executor=dask"))
    assert local.attrs["stopping_realizations_per_draw"] > 1000  # several rounds
    assert (
        dask.attrs["stopping_realizations_per_draw"]
        == local.attrs["stopping_realizations_per_draw"]
    )
    for name in local.data_vars:
        np.testing.assert_array_equal(local[name].values, dask[name].values, err_msg=name)
