"""Each crisis-model mechanism alone, against its closed form, with the real sampler.

Counts are compared with their exact Binomial distribution by a two-sided test at level 1e-6
(ALPHA): a correct sampler fails an assertion with probability at most 1e-6. Seeds are fixed,
so the suite is deterministic. Most tests use a "power gate": the target has almost no power
and the aggressor's power sits between coalition sizes, with a steep contest (m = 400), so the
coalition wins exactly when a stated set of partners acts.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from forecast.jobs.run import simulate
from forecast.model import kernels
from tests.conftest import bare_scenario

ALPHA = 1e-6
N = 20000
DRAWS = 4
# pivotality is evaluated on the first kernels.PIVOTAL_CRISES crises of each block (of 1000)
N_PIVOTAL = (N // 1000) * min(1000, kernels.PIVOTAL_CRISES)


def partner(w, cap=1.0, **extra):
    return {
        "willingness": {"mean": w, "interval": None, "concentration": None},
        "capability": {"mean": cap, "sd": 0.0},
        **extra,
    }


def gate(aggressor_power, **scenario):
    """Scenario parts for a coalition that wins iff its power exceeds ``aggressor_power``."""
    aggressor = {
        "code": "AGG",
        "capability": {"mean": aggressor_power, "sd": 0.0},
        "prize": {"mean": 1.0, "sd": 0.0},
        "cost": {"mean": 0.3, "sd": 0.0},
        "decision_noise": {"mean": 0.1, "sd": 0.0},
        **scenario.pop("aggressor", {}),
    }
    return {
        "target": {"code": "TGT", "capability": {"mean": 1e-6, "sd": 0.0}},
        "aggressor": aggressor,
        "contest": {"exponent": 400.0},
        **scenario,
    }


def run(quick, actors, **scenario):
    return simulate(bare_scenario(quick, actors, draws=DRAWS, realizations=N, **scenario))


def assert_binomial(freq, p, n_per_draw=N):
    """``freq`` (draws,) are frequencies of n_per_draw trials each with probability ``p``."""
    k = round(float(np.sum(freq)) * n_per_draw)
    n = n_per_draw * np.size(freq)
    assert stats.binomtest(k, n, p).pvalue > ALPHA, (k / n, p)


def phi(x):
    return stats.norm.cdf(x)


def probit(p):
    return stats.norm.ppf(p)


# --- attack types and attribution ------------------------------------------------------------


def test_willingness_depends_on_attack_type_and_attribution(quick):
    types = {"invasion": {"probability": 0.6}, "blockade": {"probability": 0.4}}
    actors = {
        "A": partner(0.8, type_willingness={"blockade": 0.5}, attribution={"blockade": 0.7}),
    }
    ds = run(quick, actors, attack_types=types, **gate(0.5))
    pj = ds.p_join_by_type.sel(actor="A")
    assert_binomial(pj.sel(attack_type="invasion").values, 0.8)
    assert_binomial(pj.sel(attack_type="blockade").values, 0.8 * 0.5 * 0.7)


def test_p_attack_mixes_attack_types_with_their_probabilities(quick):
    """P(attack) = sum_t pi_t expit((prize_t P(win)_t - cost_t - c_A P(A joins)_t) / noise)."""
    types = {
        "invasion": {
            "probability": 0.3,
            "prize": {"mean": 1.0, "sd": 0.0},
            "cost": {"mean": 0.5, "sd": 0.0},
        },
        "blockade": {
            "probability": 0.7,
            "prize": {"mean": 0.5, "sd": 0.0},
            "cost": {"mean": 0.1, "sd": 0.0},
        },
    }
    actors = {"A": partner(0.6, type_willingness={"blockade": 0.5}, cost_to_aggressor=0.2)}
    ds = run(quick, actors, attack_types=types, **gate(0.5))
    w = np.array([0.6, 0.3])
    value = np.array([1.0, 0.5]) * (1 - w) - np.array([0.5, 0.1]) - 0.2 * w
    exact = float((np.array([0.3, 0.7]) * special.expit(value / 0.1)).sum())
    mcse = float(np.sqrt((ds.mcse_p_attack**2).sum()) / DRAWS)
    assert abs(float(ds.p_attack.mean()) - exact) < 5.3 * mcse
    np.testing.assert_allclose(ds.p_deterrence, 1 - ds.p_attack)
    # P(type | attack) is proportional to pi_t expit(value_t / noise)
    sig = np.array([0.3, 0.7]) * special.expit(value / 0.1)
    np.testing.assert_allclose(ds.p_attack_type.mean("draw"), sig / sig.sum(), atol=0.02)


def test_aggressor_chooses_the_type_of_best_perceived_value(quick):
    types = {
        "invasion": {"prize": {"mean": 1.0, "sd": 0.0}, "cost": {"mean": 0.9, "sd": 0.0}},
        "quarantine": {"prize": {"mean": 0.4, "sd": 0.0}, "cost": {"mean": 0.05, "sd": 0.0}},
    }
    actors = {"A": partner(0.5)}
    ds = run(quick, actors, attack_types=types, **gate(0.5, aggressor={"choose_type": True}))
    # values: invasion 0.5 - 0.9 < 0 < quarantine 0.2 - 0.05
    np.testing.assert_array_equal(ds.p_attack_type.sel(attack_type="quarantine"), 1.0)
    np.testing.assert_array_equal(ds.p_attack_by_type.sel(attack_type="invasion"), 0.0)


# --- interdependence ---------------------------------------------------------------------------


def test_requires_gives_the_product(quick):
    actors = {"A": partner(0.6), "B": partner(0.7, requires=["A"])}
    ds = run(quick, actors, **gate(0.5))
    assert_binomial(ds.p_join.sel(actor="B").values, 0.6 * 0.7)


def test_follows_shifts_willingness_when_the_leader_acts(quick):
    actors = {"B": partner(0.4, follows={"A": 0.8}), "A": partner(0.6)}  # B listed first
    ds = run(quick, actors, **gate(0.5))
    exact = 0.6 * phi(probit(0.4) + 0.8) + 0.4 * 0.4
    assert_binomial(ds.p_join.sel(actor="B").values, exact)


def test_buck_passing_on_a_leaders_commitment_lowers_willingness_by_its_share(quick):
    """B follows A (with no shift): A has decided, and B passes the buck on A's actual share."""
    actors = {
        "B": partner(0.5, cap=1.0, buck_passing=1.0, follows={"A": 0.0}),
        "A": partner(0.6, cap=3.0),
    }
    ds = run(quick, actors, **gate(0.5))
    exact = 0.6 * phi(probit(0.5) - 1.0 * 3.0 / 4.0) + 0.4 * 0.5
    assert_binomial(ds.p_join.sel(actor="B").values, exact)


def test_buck_passing_between_peers_is_on_their_expected_commitment(quick):
    """A and B depend on nobody: they decide at once, B on A's expected share 0.6 * 3 / 4,
    whichever is listed first."""
    for actors in (
        {"A": partner(0.6, cap=3.0), "B": partner(0.5, cap=1.0, buck_passing=1.0)},
        {"B": partner(0.5, cap=1.0, buck_passing=1.0), "A": partner(0.6, cap=3.0)},
    ):
        ds = run(quick, actors, **gate(0.5))
        assert_binomial(ds.p_join.sel(actor="B").values, phi(probit(0.5) - 0.6 * 3.0 / 4.0))
        assert_binomial(ds.p_join.sel(actor="A").values, 0.6)


def test_chain_ganging_draws_a_member_in_through_its_ally(quick):
    actors = {"A": partner(0.6), "C": partner(1e-9, allies={"A": 0.5})}
    ds = run(quick, actors, **gate(0.5))
    assert_binomial(ds.p_join.sel(actor="C").values, 0.3)
    assert_binomial(ds.p_entangled.sel(actor="C").values, 0.3)
    np.testing.assert_array_equal(ds.p_entangled.sel(actor="A"), 0.0)


# --- institutions -----------------------------------------------------------------------------


def _inst(**kw):
    return {"institutions": {"I": kw}}


def test_unanimity_of_partners_voting_their_willingness(quick):
    actors = {"A": partner(0.6), "B": partner(0.7)}
    ds = run(quick, actors, **gate(0.5), **_inst(members=["A", "B"], rule="unanimity"))
    assert_binomial(ds.p_mandate.sel(institution="I").values, 0.42)


def test_an_aggressor_holding_a_veto_blocks_the_mandate(quick):
    actors = {"A": partner(0.9), "B": partner(0.9)}
    inst = _inst(members=["A", "B", "AGG"], rule="veto", k=1, veto=["AGG"])
    ds = run(quick, actors, **gate(0.5), **inst)
    np.testing.assert_array_equal(ds.p_mandate, 0.0)


def test_qualified_majority_is_a_binomial_tail(quick):
    actors = {"A": partner(0.5)}
    inst = _inst(
        members=["X", "Y", "Z"], rule="qualified_majority", k=2, vote={"X": 0.5, "Y": 0.5, "Z": 0.5}
    )
    ds = run(quick, actors, **gate(0.5), **inst)
    assert_binomial(ds.p_mandate.values, 0.5)


def test_consensus_lets_silent_members_pass(quick):
    actors = {"A": partner(0.5)}
    inst = _inst(members=["X"], rule="consensus", vote={"X": 0.4}, abstain=0.5)
    ds = run(quick, actors, **gate(0.5), **inst)
    assert_binomial(ds.p_mandate.values, 0.4 + 0.6 * 0.5)


@pytest.mark.parametrize("rho", [0.0, 1.0])
def test_a_mandate_shifts_members_willingness(quick, rho):
    """rho 0: the vote is independent of resolve, P(join) = 0.3 Phi(1) + 0.7 Phi(-1). rho 1
    (the default): A votes yes iff x < Phi^-1(0.3), and then acts (x < 0 + 1); without a mandate
    it would need x < -1, below its vote threshold: P(join) = 0.3."""
    actors = {"A": partner(0.5)}
    inst = _inst(
        members=["A"],
        rule="unanimity",
        vote={"A": 0.3},
        mandate_shift=1.0,
        no_mandate_shift=-1.0,
        vote_correlation=rho,
    )
    ds = run(quick, actors, **gate(0.5), **inst)
    p = 0.3 * phi(1.0) + 0.7 * phi(-1.0) if rho == 0 else 0.3
    assert_binomial(ds.p_join.values, p)


# --- capabilities, time and other theatres ----------------------------------------------------


@pytest.mark.parametrize("fa,in_time", [(3.0, False), (10.0, True)])
def test_fixed_delay_against_fixed_fait_accompli(quick, fa, in_time):
    actors = {"A": partner(0.7, delay={"mean": 5.0})}
    ds = run(quick, actors, **gate(0.75, aggressor={"fait_accompli": {"mean": fa}}))
    expected = ds.p_join.values if in_time else 0.0
    np.testing.assert_array_equal(ds.p_join_in_time.values, expected)
    # a late partner counts at the discount 0.5: 0.5 < 0.75 loses, 1 > 0.75 wins
    assert_binomial(ds.p_defense_success.values, 0.7 if in_time else 0.0)


def test_random_delays_arrive_in_time_with_the_lognormal_probability(quick):
    actors = {"A": partner(1 - 1e-9, delay={"mean": 5.0, "spread": 0.3})}
    fa = {"mean": 6.0, "spread": 0.4}
    ds = run(quick, actors, **gate(0.5, aggressor={"fait_accompli": fa}))
    exact = phi((np.log(6 / 5) - 0.08 + 0.045) / np.sqrt(0.3**2 + 0.4**2))
    assert_binomial(ds.p_join_in_time.values, exact)


def test_another_theatre_lowers_power_and_will(quick):
    engaged = {"probability": 0.3, "capability_factor": 0.5, "willingness_shift": -1.0}
    actors = {"A": partner(0.6, engaged=engaged)}
    ds = run(quick, actors, **gate(0.75))
    p_engaged_join = 0.3 * phi(probit(0.6) - 1.0)
    assert_binomial(ds.p_join.values, 0.7 * 0.6 + p_engaged_join)
    # engaged, it brings 0.5 < 0.75: only the unengaged joiners win
    assert_binomial(ds.p_defense_success.values, 0.7 * 0.6)


def test_access_scales_power_when_the_host_stands_aside(quick):
    actors = {"A": partner(0.6, access={"B": 0.4}), "B": partner(0.5, cap=1e-6)}
    ds = run(quick, actors, **gate(0.7))
    assert_binomial(ds.p_defense_success.values, 0.6 * 0.5)


def test_pivotality_is_the_chance_the_other_partner_joins(quick):
    actors = {"A": partner(0.6), "B": partner(0.3)}
    ds = run(quick, actors, **gate(1.5))  # both are needed
    assert_binomial(ds.pivotality.sel(actor="A").values, 0.3, N_PIVOTAL)
    assert_binomial(ds.pivotality.sel(actor="B").values, 0.6, N_PIVOTAL)


# --- the aggressor's beliefs ------------------------------------------------------------------


def test_misperception_bias_shifts_the_aggressors_view(quick):
    actors = {"A": partner(0.6, perceived={"bias": -1.0})}
    ds = run(quick, actors, **gate(0.5))
    perceived = special.expit(special.logit(0.6) - 1.0)
    np.testing.assert_allclose(ds.willingness_perceived, perceived)
    assert_binomial(ds.p_win_perceived.values, 1 - perceived)


def test_misperception_noise_has_the_stated_spread(quick):
    actors = {"A": partner(0.6, perceived={"noise": 0.5})}
    cfg = bare_scenario(quick, actors, draws=4000, realizations=10, **gate(0.5))
    ds = simulate(cfg)
    err = special.logit(ds.willingness_perceived.values[:, 0]) - special.logit(0.6)
    assert stats.kstest(err / 0.5, "norm").pvalue > ALPHA


def test_coalition_power_quantiles_of_a_fixed_coalition(quick):
    """One partner joining with probability 0.5: the median splits the two power levels."""
    actors = {"A": partner(0.2, cap=3.0)}
    ds = run(quick, actors, **gate(2.0))
    q = ds.coalition_power.sel(quantile=0.95).values
    # 95% of crises have power 1e-6 (A out) or 3 (A in, P = 0.2): the 0.95 quantile is ~3
    np.testing.assert_allclose(q, 3.0, rtol=0.05)
    # A out: power 1e-6, below the histogram's floor of 1% of the aggressor's power (0.02)
    median = ds.coalition_power.sel(quantile=0.5).values
    assert np.all((median >= 0.02) & (median < 0.022))


def test_no_partner_power_means_no_buck_passing(quick):
    """All partners late at discount 0: the committed share is 0, not 0 / 0 (kernel and
    reference agree, tested in test_kernels); willingness is untouched."""
    actors = {
        "A": partner(0.6, delay={"mean": 5.0}),
        "B": partner(0.5, delay={"mean": 5.0}, buck_passing=1.0),
    }
    aggressor = {"fait_accompli": {"mean": 1.0}}
    ds = run(quick, actors, late_discount=0.0, **gate(0.5, aggressor=aggressor))
    assert_binomial(ds.p_join.sel(actor="B").values, 0.5)
    np.testing.assert_array_equal(ds.p_join_in_time.values, 0.0)
