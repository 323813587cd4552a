"""Miscalculation as a belief error, the outcome probabilities and the horizon, on closed forms.

Statistical comparisons allow 5 MCSEs (two-sided normal tail below 1e-6 per assertion); the
seeds are fixed, so the suite is deterministic.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from forecast.jobs.run import simulate
from tests.conftest import bare_scenario, quick_config

Z = 5.0
W, BIAS, PRIZE, COST, C_A, NOISE = 0.7, -2.0, 1.0, 0.35, 0.1, 0.1


def _gate(quick, bias, rate=1.0, years=1.0):
    """One partner of fixed willingness W whose joining alone decides the war (power gate)."""
    partner = {
        "willingness": {"mean": W},
        "capability": {"mean": 1.0, "sd": 0.0},
        "perceived": {"bias": bias},
        "cost_to_aggressor": C_A,
    }
    return bare_scenario(
        quick,
        {"A": partner},
        draws=4,
        realizations=40000,
        target={"code": "TGT", "capability": {"mean": 1e-6, "sd": 0.0}},
        aggressor={
            "code": "AGG",
            "capability": {"mean": 0.5, "sd": 0.0},
            "prize": {"mean": PRIZE, "sd": 0.0},
            "cost": {"mean": COST, "sd": 0.0},
            "decision_noise": {"mean": NOISE, "sd": 0.0},
        },
        contest={"exponent": 400.0},
        horizon={"years": years, "opportunities_per_year": {"mean": rate, "sd": 0.0}},
    )


def _attack(w: float) -> float:
    """P(attack) when the aggressor believes the partner joins with probability w."""
    return float(special.expit((PRIZE * (1 - w) - COST - C_A * w) / NOISE))


def _close(ds, name, exact):
    got = float(ds[name].mean())
    assert abs(got - exact) <= Z * float(ds[f"mcse_mean_{name}"]) + 1e-12, (name, got, exact)


def test_miscalculation_is_the_attack_that_true_beliefs_would_not_make(quick):
    ds = simulate(_gate(quick, BIAS, rate=0.5, years=3.0))
    w_seen = float(special.expit(special.logit(W) + BIAS))
    p, p_true = _attack(w_seen), _attack(W)
    assert p - p_true > 0.3  # the aggressor underrates the partner and attacks far more often
    _close(ds, "p_attack", p)
    _close(ds, "p_attack_true_beliefs", p_true)
    _close(ds, "p_miscalculation", p - p_true)
    _close(ds, "p_attack_failed", p * W)  # the coalition wins iff the partner joins
    _close(ds, "p_attack_repelled", p * W)
    _close(ds, "p_attack_within_horizon", 1 - np.exp(-0.5 * 3.0 * p))


def test_overrating_the_coalition_is_no_miscalculation(quick):
    """An aggressor that overrates the partner attacks less than with our beliefs: max(0, .)."""
    ds = simulate(_gate(quick, -BIAS))
    assert np.all(ds.p_attack < ds.p_attack_true_beliefs)
    np.testing.assert_array_equal(ds.p_miscalculation, 0.0)


def test_no_misperception_gives_exactly_zero_miscalculation(quick):
    ds = simulate(_gate(quick, 0.0))
    np.testing.assert_array_equal(ds.p_miscalculation, 0.0)
    np.testing.assert_array_equal(ds.mcse_p_miscalculation, 0.0)
    np.testing.assert_array_equal(ds.p_attack_true_beliefs, ds.p_attack)


def test_taiwan_without_misperception_has_exactly_zero_miscalculation():
    """Every `perceived` bias and noise 0 (Taiwan states them for the USA only)."""
    cfg = quick_config(
        "scenario=taiwan",
        "scenario.actors.USA.perceived.bias=0",
        "scenario.actors.USA.perceived.noise=0",
        draws=8,
        realizations=2000,
    )
    assert all(float(a.perceived.bias) == float(a.perceived.noise) == 0 for a in
               cfg.scenario.actors.values())  # fmt: skip
    ds = simulate(cfg)
    np.testing.assert_array_equal(ds.p_miscalculation, 0.0)
    np.testing.assert_array_equal(ds.p_attack_true_beliefs, ds.p_attack)
    # with the shipped misperception it is not 0
    shipped = simulate(quick_config("scenario=taiwan", draws=8, realizations=2000))
    assert float(shipped.p_miscalculation.max()) > 0
