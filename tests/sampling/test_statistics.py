"""Statistical checks on closed-form cases, with fixed seeds and stated failure rates.

Each test that compares a random count with its exact distribution uses a two-sided test at
level 1e-6, so a correct sampler fails it with probability at most 1e-6 per assertion; the seeds
are fixed, so the suite is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forecast.jobs.run import simulate
from forecast.model import kernels
from forecast.sampling import sampler
from tests.conftest import bare_scenario

ALPHA = 1e-6


def _config(quick, actors, factors=None, draws=4, realizations=20000, **scenario):
    return bare_scenario(quick, actors, factors, draws=draws, realizations=realizations, **scenario)


def _fixed(w, cap=1.0, loadings=None):
    return {
        "willingness": {"mean": w, "interval": None, "concentration": None},
        "capability": {"mean": cap, "sd": 0.0},
        "loadings": loadings or {},
    }


def test_one_partner_fixed_willingness_is_binomial(quick):
    w, n = 0.37, 20000
    cfg = _config(quick, {"AAA": _fixed(w)}, realizations=n)
    plan = sampler.make_plan(cfg)
    acc = sampler.run_local(plan)
    joins = acc.by_partner[:, 0, 0, kernels.P_JOIN]
    for k in joins:
        p = stats.binomtest(int(k), n, w).pvalue
        assert p > ALPHA, (k, n, w)
    # pooled over draws as well
    assert stats.binomtest(int(joins.sum()), n * len(joins), w).pvalue > ALPHA


def _power_gate(quick, actors, factors=None):
    """A contest that the coalition wins iff every partner joins (cap 1 each, m large)."""
    P = len(actors)
    return _config(
        quick,
        actors,
        factors,
        target={"code": "TGT", "capability": {"mean": 1e-3, "sd": 0.0}},
        aggressor={
            "code": "AGG",
            "capability": {"mean": P - 0.5, "sd": 0.0},
            "prize": {"mean": 1.0, "sd": 0.0},
            "cost": {"mean": 0.3, "sd": 0.0},
            "decision_noise": {"mean": 0.1, "sd": 0.0},
        },
        contest={"exponent": 400.0},
    )


def test_independent_partners_give_products(quick):
    w = [0.6, 0.7, 0.8]
    cfg = _power_gate(quick, {f"P{i}": _fixed(x) for i, x in enumerate(w)})
    ds = simulate(cfg)
    n = int(ds.n_realizations.sum())
    hits = float(ds.p_defense_success.mean()) * n
    assert stats.binomtest(round(hits), n, float(np.prod(w))).pvalue > ALPHA


def test_correlated_partners_match_bivariate_normal(quick):
    w1, w2, l1, l2 = 0.6, 0.5, 0.8, 0.7
    actors = {"A": _fixed(w1, loadings={"f": l1}), "B": _fixed(w2, loadings={"f": l2})}
    cfg = _power_gate(quick, actors, factors={"f": {"description": "common"}})
    ds = simulate(cfg)
    rho = l1 * l2
    t = stats.norm.ppf([w1, w2])
    exact = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf(t)
    n = int(ds.n_realizations.sum())
    hits = round(float(ds.p_defense_success.mean()) * n)
    assert stats.binomtest(hits, n, exact).pvalue > ALPHA
    # and clearly not the independent product
    assert abs(hits / n - w1 * w2) > 0.05


def test_zero_spread_zero_loadings_gives_no_epistemic_variation(quick):
    cfg = _config(quick, {"A": _fixed(0.4, cap=2.0), "B": _fixed(0.7)}, draws=30)
    ds = simulate(cfg)
    for name in ("willingness", "willingness_perceived", "capability"):
        spread = ds[name].max("draw") - ds[name].min("draw")
        assert float(spread.max()) == 0.0, name
    # what varies across draws is aleatory only: its spread matches the binomial
    p = ds.p_join.sel(actor="A")
    z = (p - 0.4) / np.sqrt(0.4 * 0.6 / ds.n_realizations)
    assert stats.chi2(df=30).sf(float((z**2).sum())) > ALPHA


def test_aggressor_decision_closed_form(quick):
    """With no partners able to join, P(win) = A^m/(A^m+T^m) and P(attack) is its logistic."""
    cfg = _config(
        quick,
        {"A": _fixed(1e-6)},
        target={"code": "TGT", "capability": {"mean": 1.0, "sd": 0.0}},
        aggressor={
            "code": "AGG",
            "capability": {"mean": 3.0, "sd": 0.0},
            "prize": {"mean": 2.0, "sd": 0.0},
            "cost": {"mean": 1.0, "sd": 0.0},
            "decision_noise": {"mean": 0.25, "sd": 0.0},
        },
        contest={"exponent": 1.0},
    )
    ds = simulate(cfg)
    p_win = 0.75
    expected = 1 / (1 + np.exp(-(2.0 * p_win - 1.0) / 0.25))
    n = int(ds.n_realizations.sum())
    wins = round(float(ds.p_defense_success.mean()) * n)
    assert stats.binomtest(wins, n, 1 - p_win).pvalue > ALPHA
    # P(attack) is a smooth function of the perceived frequency: within 5.3 MCSE (normal
    # approximation, two-sided failure rate about 1e-7)
    mcse_mean = float(np.sqrt((ds.mcse_p_attack**2).sum()) / ds.sizes["draw"])
    assert abs(float(ds.p_attack.mean()) - expected) < 5.3 * mcse_mean


def test_beta_marginal_of_willingness_draws(quick):
    """Epistemic willingness draws follow Beta(mean*k, (1-mean)*k): KS test at level 1e-6."""
    cfg = _config(
        quick,
        {"A": {**_fixed(0.3), "willingness": {"mean": 0.3, "concentration": 12.0}}},
        draws=2000,
        realizations=10,
    )
    plan = sampler.make_plan(cfg)
    w = plan.draws.willingness[:, 0]
    assert stats.kstest(w, stats.beta(0.3 * 12, 0.7 * 12).cdf).pvalue > ALPHA


def test_interval_spread_reproduces_the_interval(quick):
    cfg = _config(
        quick,
        {"A": {**_fixed(0.5), "willingness": {"mean": 0.5, "interval": [0.3, 0.7]}}},
        draws=4000,
        realizations=10,
    )
    w = sampler.make_plan(cfg).draws.willingness[:, 0]
    q = np.quantile(w, [0.05, 0.95])
    np.testing.assert_allclose(q, [0.3, 0.7], atol=0.02)
    assert w.mean() == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("scenario", ["taiwan", "baltic"])
def test_backends_agree_exactly(quick, scenario):
    """numba and numpy backends consume the same numbers: identical results."""
    a = simulate(quick(f"scenario={scenario}", draws=8, realizations=3000))
    b = simulate(quick(f"scenario={scenario}", "sampler.backend=numpy", draws=8, realizations=3000))
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_thread_invariance(quick):
    a = simulate(quick("sampler.threads=1", draws=24, realizations=3000))
    b = simulate(quick("sampler.threads=2", draws=24, realizations=3000))
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_block_size_changes_streams_but_not_the_distribution(quick):
    """Blocks are the unit of randomness: same seed + same blocks -> identical results."""
    a = simulate(quick(draws=6, realizations=4000))
    b = simulate(quick(draws=6, realizations=4000))
    np.testing.assert_array_equal(a.p_join.values, b.p_join.values)
    c = simulate(quick("sampler.seed=99", draws=6, realizations=4000))
    assert not np.array_equal(a.p_join.values, c.p_join.values)


def test_interval_keeps_its_width_when_a_sweep_moves_the_mean_outside_it(quick):
    """The issue's sweep example: USA's mean 0.2 with Taiwan's interval [0.45, 0.93]."""
    cfg = quick("scenario.actors.USA.willingness.mean=0.2", draws=4000, realizations=10)
    plan = sampler.make_plan(cfg)
    w = plan.draws.willingness[:, plan.model.codes.index("USA")]
    assert w.mean() == pytest.approx(0.2, abs=0.01)
    q = np.quantile(w, [0.05, 0.95])
    assert q[1] - q[0] == pytest.approx(0.93 - 0.45, abs=0.02)
