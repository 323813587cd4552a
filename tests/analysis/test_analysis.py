"""Sensitivity and threshold analysis against closed forms, on the real sampler.

The closed-form scenario: one partner A of capability c who joins with probability w, a target
of capability T and an aggressor of capability A, contest exponent 1, the aggressor seeing w as
it is. The aggressor's perceived P(win) is 1 - s0 - w (s1 - s0) with s0 = T / (T + A) and
s1 = (T + c) / (T + c + A), so P(deterrence) = 1 - expit((prize P(win) - cost) / noise), and
the threshold w* at which it reaches a target solves a linear equation.

Tolerances are stated in Monte Carlo standard errors: 5 MCSE (normal approximation, a two-sided
failure rate below 1e-6 per assertion); the seeds are fixed, so the suite is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from omegaconf import open_dict
from scipy import special, stats

from forecast.analysis import sensitivity as analysis
from forecast.config import ConfigError
from forecast.jobs.run import simulate
from forecast.sampling import sampler
from tests.conftest import bare_scenario

T, A, C, PRIZE, COST, NOISE = 1.0, 2.0, 6.0, 1.0, 0.3, 0.1
Z = 5.0  # MCSEs: two-sided normal tail below 1e-6


def p_deterrence(w, c=C):
    """P(deterrence) of the closed-form scenario."""
    s0, s1 = T / (T + A), (T + c) / (T + c + A)
    return 1.0 - special.expit((PRIZE * (1.0 - s0 - w * (s1 - s0)) - COST) / NOISE)


def threshold_exact(target: float) -> float:
    s0, s1 = T / (T + A), (T + C) / (T + C + A)
    return (PRIZE * (1.0 - s0) - COST - NOISE * special.logit(1.0 - target)) / (PRIZE * (s1 - s0))


def closed_form_config(quick, willingness, capability, draws=20, realizations=5000, **extra):
    cfg = bare_scenario(
        quick,
        {"A": {"willingness": willingness, "capability": capability}},
        draws=draws,
        realizations=realizations,
        target={"code": "TGT", "capability": {"mean": T, "sd": 0.0}},
        aggressor={
            "code": "AGG",
            "capability": {"mean": A, "sd": 0.0},
            "prize": {"mean": PRIZE, "sd": 0.0},
            "cost": {"mean": COST, "sd": 0.0},
            "decision_noise": {"mean": NOISE, "sd": 0.0},
        },
        contest={"exponent": 1.0},
    )
    with open_dict(cfg):
        cfg.merge_with({"analysis": extra})
    return cfg


KNOWN_W = {"mean": 0.5, "interval": None, "concentration": None}
KNOWN_C = {"mean": C, "sd": 0.0}


# ----------------------------------------------------------------------------------------------
# The given-data first-order estimator
# ----------------------------------------------------------------------------------------------


def _binning_factor(m: int) -> float:
    """Var(E[X | bin]) / Var(X) for X ~ N(0, 1) cut into m equiprobable bins (exact)."""
    edges = stats.norm.ppf(np.linspace(0, 1, m + 1))
    means = (stats.norm.pdf(edges[:-1]) - stats.norm.pdf(edges[1:])) * m
    return float((means**2).mean())


@pytest.mark.parametrize("a,b,rho", [(1.0, 2.0, 0.6), (1.0, 1.0, -0.5), (2.0, 0.5, 0.0)])
def test_first_order_matches_the_linear_gaussian_closed_form(a, b, rho):
    """Y = a X1 + b X2, (X1, X2) standard bivariate normal with correlation rho.

    E[Y | X1] = (a + b rho) X1, so S1 = (a + b rho)^2 / Var(Y) with Var(Y) = a^2 + b^2 + 2ab rho,
    and likewise S2 = (b + a rho)^2 / Var(Y). A partition estimator with m bins sees
    E[Y | bin of X1], whose variance is (a + b rho)^2 times the binning factor of a normal.
    """
    n, reps = 2000, 60
    var_y = a * a + b * b + 2 * a * b * rho
    exact = np.array([(a + b * rho) ** 2, (b + a * rho) ** 2]) / var_y
    m = analysis.default_bins(n)
    binned = exact * _binning_factor(m)
    rng = np.random.default_rng(20261122)
    est = np.array(
        [
            analysis.first_order_indices(x, x @ [a, b])
            for x in (rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], n) for _ in range(reps))
        ]
    )
    se = est.std(axis=0, ddof=1) / math.sqrt(reps)
    # unbiased for the binned quantity (the ANOVA correction removes the finite-sample bias) ...
    assert np.all(np.abs(est.mean(axis=0) - binned) < Z * se + 2e-3), (est.mean(0), binned, se)
    # ... which is within 1% of the exact index with about sqrt(n) bins
    assert np.all(np.abs(binned - exact) < 0.01)
    # the indices need not sum to 1 under correlation: here they exceed it when rho > 0
    if rho > 0:
        assert exact.sum() > 1 and est.mean(0).sum() > 1


def test_first_order_sees_a_non_monotone_effect_and_removes_known_noise():
    """Y = X1^2 + noise, X2 independent: S1 = 2 / (2 + s^2) (Var(X1^2) = 2), S2 = 0; knowing the
    noise variance s^2 gives S1 = 1 for the noise-free output. A correlation ratio would give 0."""
    n, s = 20000, 1.0
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, 2))
    y = x[:, 0] ** 2 + s * rng.standard_normal(n)
    noisy = analysis.first_order_indices(x, y)
    clean = analysis.first_order_indices(x, y, noise_var=s * s)
    se = analysis.bootstrap_se(x, y, 50, seed=1)
    assert abs(noisy[0] - 2 / (2 + s * s)) < Z * se[0] + 0.01
    assert abs(noisy[1]) < Z * se[1]
    assert abs(clean[0] - 1.0) < Z * se[0] * (1 + s * s / 2) + 0.02
    assert abs(np.corrcoef(x[:, 0], y)[0, 1]) < 0.05


def test_first_order_of_a_constant_input_is_nan():
    x = np.column_stack([np.ones(100), np.arange(100.0)])
    s = analysis.first_order_indices(x, np.arange(100.0))
    # a uniform cut into 10 bins keeps 1 - 1/10^2 of its variance
    assert np.isnan(s[0]) and s[1] > 0.97


def test_first_crossing_interpolates_and_flags_the_range_ends():
    v = np.array([0.0, 1.0, 2.0])
    curves = np.array([[0.1, 0.6, 0.0], [0.3, 0.8, 0.1], [0.5, 0.9, 0.2]])  # (E=3, 3 curves)
    got = analysis.first_crossing(v, curves, 0.4)
    np.testing.assert_allclose(got[:2], [1.5, 0.0])
    assert got[2] == np.inf


# ----------------------------------------------------------------------------------------------
# Tornado and first-order indices on the real sampler
# ----------------------------------------------------------------------------------------------


@pytest.mark.slow  # the longest statistical test of the inner loop
def test_tornado_matches_the_closed_form_and_skips_fixed_beliefs(quick):
    k, sd = 10.0, 1.5
    cfg = closed_form_config(
        quick, {"mean": 0.6, "concentration": k, "interval": None}, {"mean": C, "sd": sd}
    )
    tor = analysis.tornado(cfg, quantiles=(0.05, 0.95), replicates=8)
    # perception[A] has no spread (noise 0), so only these two
    assert tor["names"] == ["willingness[A]", "capability[A]"]
    assert tor["paths"] == ["scenario.actors.A.willingness", "scenario.actors.A.capability"]
    s2 = math.log1p((sd / C) ** 2)

    def w(q):
        return stats.beta.ppf(q, 0.6 * k, 0.4 * k)

    def c(q):
        return math.exp(math.log(C) - s2 / 2 + math.sqrt(s2) * stats.norm.ppf(q))

    np.testing.assert_allclose(tor["value_low"], [w(0.05), c(0.05)], rtol=1e-6)
    np.testing.assert_allclose(tor["value_high"], [w(0.95), c(0.95)], rtol=1e-6)
    assert abs(tor["base"] - p_deterrence(w(0.5), c(0.5))) < Z * tor["mcse_base"]
    expected_low = [p_deterrence(w(0.05), c(0.5)), p_deterrence(w(0.5), c(0.05))]
    expected_high = [p_deterrence(w(0.95), c(0.5)), p_deterrence(w(0.5), c(0.95))]
    assert np.all(np.abs(tor["low"] - expected_low) < Z * tor["mcse_low"])
    assert np.all(np.abs(tor["high"] - expected_high) < Z * tor["mcse_high"])


def test_correlated_beliefs_share_first_order_credit_but_not_the_tornado(quick):
    """Partner B is powerless, so moving its willingness alone changes nothing (tornado), yet it
    is correlated with A's through a common factor, so it explains much of the spread (S_B)."""
    will = {"mean": 0.5, "concentration": 4.0, "interval": None}
    actors = {
        "A": {"willingness": will, "capability": KNOWN_C, "loadings": {"f": 0.95}},
        "B": {
            "willingness": will,
            "capability": {"mean": 1e-9, "sd": 0.0},
            "loadings": {"f": 0.95},
        },
    }
    cfg = bare_scenario(
        quick,
        actors,
        factors={"f": {"description": "common"}},
        draws=400,
        realizations=500,
        target={"code": "TGT", "capability": {"mean": T, "sd": 0.0}},
        aggressor={
            "code": "AGG",
            "capability": {"mean": A, "sd": 0.0},
            "cost": {"mean": COST, "sd": 0.0},
        },
    )
    with open_dict(cfg):
        cfg.analysis.sensitivity = True
        cfg.analysis.sensitivity_bootstrap = 50
    out = analysis.analyse(simulate(cfg), cfg)
    s1 = out.sensitivity_first_order.to_series()
    swing = (out.tornado_high - out.tornado_low).to_series()
    se_swing = np.hypot(out.mcse_tornado_high_diff, out.mcse_tornado_low_diff).to_series()
    assert abs(swing["willingness[B]"]) <= Z * se_swing["willingness[B]"] + 1e-6
    assert swing["willingness[A]"] > 0.2
    # rank correlation of the two willingness draws is about 0.9: B takes most of A's credit
    assert s1["willingness[A]"] > 0.5
    assert s1["willingness[B]"] > 0.5 * s1["willingness[A]"]
    # the inputs are the forecast's own draws, column for column
    np.testing.assert_array_equal(
        out.parameter_value.sel(parameter="willingness[A]").values,
        out.willingness.sel(actor="A").values,
    )


def test_sensitivity_adds_its_variables_over_parameter(quick):
    cfg = quick("analysis.sensitivity=true", "analysis.sensitivity_bootstrap=20", draws=60)
    plan = sampler.make_plan(cfg)
    out = analysis.analyse(simulate(cfg), cfg)
    names = [p.name for p in plan.model.parameters if not p.fixed]
    assert list(out.parameter.values) == names
    assert list(out.parameter_path.values) == [p.path for p in plan.model.parameters if not p.fixed]
    for v in ("tornado_low", "tornado_high", "sensitivity_first_order", "tornado_value_low"):
        assert out[v].dims == ("parameter",), v
        assert np.isfinite(out[v].values).all(), v
    assert out.parameter_value.dims == ("draw", "parameter")
    # USA willingness helps deterrence, the aggressor's capability hurts it
    usa, chn = "willingness[USA]", "capability[CHN]"
    assert (
        out.tornado_low.sel(parameter=usa) < out.tornado_base < out.tornado_high.sel(parameter=usa)
    )
    assert (
        out.tornado_low.sel(parameter=chn) > out.tornado_base > out.tornado_high.sel(parameter=chn)
    )
    # the aggressor's own numbers are beliefs too: a higher cost deters, a higher prize tempts,
    # and the decision noise matters (Taiwan's mean value of attacking is not 0)
    swing = (out.tornado_high - out.tornado_low).to_series()
    se = np.hypot(out.mcse_tornado_high_diff, out.mcse_tornado_low_diff).to_series()
    assert swing["cost"] > Z * se["cost"]
    assert swing["prize"] < -Z * se["prize"]
    assert abs(swing["decision_noise"]) > Z * se["decision_noise"]
    assert out.parameter_path.sel(parameter="cost") == "scenario.aggressor.cost"
    for name in ("prize", "cost", "decision_noise", "opportunities_per_year"):
        assert np.isfinite(out.sensitivity_first_order.sel(parameter=name))


# ----------------------------------------------------------------------------------------------
# Threshold search
# ----------------------------------------------------------------------------------------------


def test_threshold_matches_the_closed_form(quick):
    target = 0.5
    cfg = closed_form_config(
        quick, KNOWN_W, KNOWN_C, threshold={"parameter": "willingness[A]", "target": target}
    )
    res = analysis.threshold_search(cfg)
    exact = threshold_exact(target)
    assert res["status"] == "found" and res["direction"] == "at least"
    resolution = 1.0 / 8 / 2**8  # the grid cell halved 8 times
    assert abs(res["threshold"] - exact) < Z * res["mcse"] + resolution, (res["threshold"], exact)
    # no epistemic spread here: every draw's threshold is the same up to Monte Carlo noise
    assert np.all(np.abs(res["draws"] - exact) < 0.05)
    # the curve follows the closed form everywhere (each point within 5 MCSE)
    assert np.all(np.abs(res["curve"] - p_deterrence(res["values"])) < Z * res["mcse_curve"])
    # common random numbers: the mean curve is monotone in the value
    assert np.all(np.diff(res["curve"]) > 0)


def test_threshold_of_a_falling_curve_is_an_upper_bound(quick):
    cfg = quick(
        "analysis.threshold.parameter=scenario.aggressor.capability",
        "analysis.threshold.target=0.5",
        "analysis.threshold.grid=5",
        "analysis.threshold.iterations=4",
        draws=30,
        realizations=1000,
    )
    res = analysis.threshold_search(cfg)
    assert res["direction"] == "at most" and res["status"] == "found"
    lo, hi = res["range"]
    assert lo < res["threshold"] < hi
    assert "capability[CHN] <=" in res["message"]


def test_unreachable_target_is_reported_not_raised(quick):
    cfg = closed_form_config(
        quick,
        KNOWN_W,
        KNOWN_C,
        draws=4,
        realizations=1000,
        threshold={"parameter": "scenario.actors.A.willingness", "target": 0.95, "grid": 3},
    )
    out = analysis.analyse(simulate(cfg), cfg)
    assert out.threshold.attrs["status"] == "unreachable"
    assert np.isnan(float(out.threshold))
    msg = out.attrs["threshold_summary"]
    assert "never reaches 0.95" in msg and "analysis.threshold.range" in msg
    assert np.all(np.isinf(out.threshold_draw.values))


@pytest.mark.parametrize(
    "overrides,expected",
    [
        (
            ["analysis.threshold.parameter=willpower"],
            "analysis.threshold.parameter must name a belief parameter by config path or name, "
            "got 'willpower'",
        ),
        (
            [
                "analysis.threshold.parameter=scenario.actors.USA.willingness",
                "analysis.threshold.range=[0.2,1.5]",
            ],
            "analysis.threshold.range must lie inside the support of willingness[USA] (0, 1), "
            "got [0.2, 1.5]",
        ),
        (
            [
                "analysis.threshold.parameter=scenario.actors.USA.willingness",
                "analysis.threshold.target=1.2",
            ],
            "analysis.threshold.target must lie in (0, 1), got 1.2",
        ),
        (
            ["analysis.tornado_quantiles=[0.9,0.1]"],
            "analysis.tornado_quantiles must be two ordered",
        ),
        (["analysis.sensitivity_bins=1000"], "analysis.sensitivity_bins must lie in [2, "),
    ],
)
def test_bad_analysis_options_name_path_and_value(quick, overrides, expected):
    cfg = quick(*overrides)
    with pytest.raises(ConfigError) as err:
        analysis.check(cfg)
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_every_problem_is_reported_at_once(quick):
    cfg = quick(
        "scenario.actors.USA.willingness.mean=1.7",
        "analysis.tornado_replicates=0",
        "analysis.threshold.parameter=willingness",
    )
    with pytest.raises(ConfigError) as err:
        analysis.check(cfg)
    text = "\n".join(err.value.problems)
    assert "scenario.actors.USA.willingness.mean must be a probability" in text
    assert "analysis.tornado_replicates must be >= 1, got 0" in text


def test_bad_threshold_quantity_fails_before_anything_is_written(quick, tmp_path):
    from forecast.jobs.run import run

    cfg = quick(
        "analysis.threshold.parameter=scenario.actors.USA.willingness",
        "analysis.threshold.quantity=p_join",
        draws=4,
        realizations=200,
    )
    with pytest.raises(ConfigError, match="analysis.threshold.quantity must name a per-draw"):
        run(cfg, tmp_path)
    assert list(tmp_path.iterdir()) == []
