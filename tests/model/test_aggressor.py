"""The aggressor's prize, cost and decision noise as beliefs, and the horizon's closed form."""

from __future__ import annotations

import numpy as np
from scipy import stats

from forecast.model import aggressor, beliefs
from forecast.sampling import sampler

KNOWN = {"mean": 0.4, "sd": 0.0}


def _types_config(quick, agg=None, types=None):
    from tests.conftest import bare_scenario

    cfg = bare_scenario(
        quick,
        {"A": {"willingness": {"mean": 0.5}, "capability": {"mean": 1.0, "sd": 0.0}}},
        draws=500,
        realizations=100,
        aggressor={"code": "AGG", **(agg or {})},
        attack_types=types or {},
    )
    return cfg


def test_known_beliefs_are_their_means_and_types_share_the_aggressors_draw(quick):
    types = {
        "invasion": {"probability": 0.5},  # uses the aggressor's
        "blockade": {"probability": 0.5, "prize": {"mean": 0.5, "sd": 0.0}, "cost": KNOWN},
    }
    agg = {"prize": {"mean": 1.0, "sd": 0.3}, "cost": {"mean": 0.6, "sd": 0.0}}
    plan = sampler.make_plan(_types_config(quick, agg, types))
    d = plan.draws
    assert d.prize.shape == d.cost.shape == d.decision_noise.shape == (500, 2)
    np.testing.assert_array_equal(d.prize[:, 1], 0.5)
    np.testing.assert_array_equal(d.cost[:, 0], 0.6)
    np.testing.assert_array_equal(d.cost[:, 1], 0.4)
    np.testing.assert_array_equal(d.decision_noise, 0.1)  # the schema's default, both types
    np.testing.assert_array_equal(d.opportunities_per_year, 1.0)
    assert np.ptp(d.prize[:, 0]) > 0  # the aggressor's prize is drawn
    names = {p.name: p.path for p in plan.model.parameters}
    assert names["prize"] == "scenario.aggressor.prize"
    assert names["prize[blockade]"] == "scenario.attack_types.blockade.prize"
    assert "prize[invasion]" not in names and "decision_noise[blockade]" not in names
    # held at a value like any belief (the tornado and the threshold search rely on it)
    held = sampler.make_plan(_types_config(quick, agg, types), fixed={"prize": 0.8})
    np.testing.assert_array_equal(held.draws.prize[:, 0], 0.8)


def test_uncertain_beliefs_are_log_normal_with_their_mean_and_sd(quick):
    """Kolmogorov-Smirnov against the log-normal of the stated mean and sd; level 1e-6."""
    mean, sd = 0.5, 0.2
    cfg = _types_config(quick, {"cost": {"mean": mean, "sd": sd}})
    model = beliefs.build_model(cfg)
    d = beliefs.draw_parameters(model, 20000, seed=3)
    s2 = np.log1p((sd / mean) ** 2)
    ref = stats.lognorm(s=np.sqrt(s2), scale=mean * np.exp(-s2 / 2))
    assert stats.kstest(d.cost[:, 0], ref.cdf).pvalue > 1e-6


def test_p_within_horizon_equals_the_poisson_sum():
    """1 - exp(-rate years p) against sum_n Poisson(n; rate years) (1 - (1 - p)^n)."""
    p = np.array([0.0, 0.05, 0.3, 0.9, 1.0])
    rate, years = np.full(5, 0.8), 4.0
    n = np.arange(200)
    pmf = stats.poisson.pmf(n[:, None], rate * years)
    direct = (pmf * (1 - (1 - p) ** n[:, None])).sum(axis=0)
    got, _ = aggressor.p_within_horizon(p, rate, years, np.zeros(5))
    np.testing.assert_allclose(got, direct, rtol=1e-12, atol=1e-15)
    # the MCSE is the delta method's: the derivative times the MCSE of p_attack
    h = 1e-7
    up, _ = aggressor.p_within_horizon(p[1:4] + h, rate[1:4], years, np.zeros(3))
    _, se = aggressor.p_within_horizon(p[1:4], rate[1:4], years, np.full(3, 0.01))
    np.testing.assert_allclose(se, (up - got[1:4]) / h * 0.01, rtol=1e-5)
