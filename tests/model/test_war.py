"""The war as a process (docs/war.md) through the real sampler, on closed forms.

Each frequency is compared with its exact Binomial distribution at level 1e-6
(:func:`tests.model.test_mechanisms.assert_binomial`): a correct sampler fails an assertion with
probability at most 1e-6. Seeds are fixed, so the suite is deterministic.

The target fights alone unless a test gives a partner a willingness: the partner ``B`` of
:func:`alone` never joins (willingness 1e-6). pi(C, A, m) = C^m / (C^m + A^m).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from forecast.jobs.run import simulate
from forecast.model.war import POWER_SCALE
from forecast.results import dataset as results
from tests.conftest import bare_scenario
from tests.model.test_mechanisms import DRAWS, N_PIVOTAL, N, assert_binomial, partner

C, A, M = 2.0, 3.0, 1.5  # the target's and the aggressor's power, the contest exponent
RESOLUTION = 1 / POWER_SCALE  # the power sums per phase are in fixed point


def pi(c, a, m=M):
    return c**m / (c**m + a**m)


def base(**scenario):
    parts = {
        "target": {"code": "TGT", "capability": {"mean": C, "sd": 0.0}},
        "aggressor": {
            "code": "AGG",
            "capability": {"mean": A, "sd": 0.0},
            "fait_accompli": {"mean": 10.0, "sd": 0.0, "spread": 0.0},
        },
        "contest": {"exponent": M},
    }
    parts.update(scenario)
    return parts


def run(quick, actors=None, **scenario):
    actors = actors or {"B": partner(1e-6)}
    return simulate(bare_scenario(quick, actors, draws=DRAWS, realizations=N, **base(**scenario)))


def two_phases(first_decisive=True, attrition=0.0):
    return {
        "war": {
            "attrition": attrition,
            "phases": [
                {"name": "assault", "fait_accompli": first_decisive},
                {"name": "campaign", "duration": 30.0},
            ],
        }
    }


def test_two_decisive_phases_must_both_be_won(quick):
    ds = run(quick, **two_phases())
    assert_binomial(ds.p_defense_success.values, pi(C, A) ** 2)
    assert list(ds.phase.values) == ["assault", "campaign"]
    # the aggressor holds after phase 1 with 1 - pi; the war ends there then
    assert_binomial(ds.p_holds_objective.sel(phase="assault").values, 1 - pi(C, A))
    assert_binomial(ds.p_decided_in_phase.sel(phase="assault").values, 1 - pi(C, A))
    np.testing.assert_allclose(ds.p_decided_in_phase.sum("phase"), 1.0)
    np.testing.assert_allclose(
        ds.p_holds_objective.sel(phase="campaign"), 1.0 - ds.p_defense_success
    )


def test_a_phase_without_fait_accompli_only_wears_down(quick):
    """Phase 1 not decisive and no attrition: only the last phase's contest counts."""
    ds = run(quick, **two_phases(first_decisive=False))
    assert_binomial(ds.p_defense_success.values, pi(C, A))
    np.testing.assert_allclose(ds.p_decided_in_phase.sel(phase="campaign"), 1.0)
    np.testing.assert_allclose(ds.coalition_power_by_phase, C, atol=RESOLUTION)


def test_attrition_moves_the_balance_of_the_next_phase(quick):
    """lambda = 0.5: A_2 = A (1 - lambda s), C_2 = C (1 - lambda (1 - s)), s = C / (C + A)."""
    lam = 0.5
    s = C / (C + A)
    a2, c2 = A * (1 - lam * s), C * (1 - lam * (1 - s))
    ds = run(quick, **two_phases(first_decisive=False, attrition=lam))
    assert_binomial(ds.p_defense_success.values, pi(c2, a2))
    power = ds.coalition_power_by_phase.sel(phase="campaign")
    np.testing.assert_allclose(power, c2, atol=RESOLUTION)
    ds = run(quick, **two_phases(first_decisive=True, attrition=lam))
    assert_binomial(ds.p_defense_success.values, pi(C, A) * pi(c2, a2))


def test_a_partner_arrives_in_the_phase_its_delay_puts_it_in(quick):
    """Partner D (power 4) arrives on day 20: after phase 1 (10 days), in phase 2."""
    actors = {"D": partner(1 - 1e-9, cap=4.0, delay={"mean": 20.0, "sd": 0.0, "spread": 0.0})}
    ds = run(quick, actors, **two_phases())
    assert_binomial(ds.p_defense_success.values, pi(C, A) * pi(C + 4.0, A))
    # p_join_in_time is arriving in phase 1
    np.testing.assert_allclose(ds.p_join_in_time, 0.0)


def test_the_target_may_yield(quick):
    """P(keeps fighting) = expit(logit r + b log(C / A)); then the contest."""
    r, b = 0.7, 1.0
    res = {"probability": {"mean": r}, "balance_slope": b}
    ds = run(quick, target={"code": "TGT", "capability": {"mean": C, "sd": 0.0}, "resolve": res})
    keeps = special.expit(special.logit(r) + b * np.log(C / A))
    assert_binomial(ds.p_defense_success.values, keeps * pi(C, A))
    np.testing.assert_allclose(ds.p_escalation, 0.0)


def test_escalation_and_the_partners_who_leave(quick):
    """A partner certain to fight (power 3) who always leaves at escalation (shift -40):
    P(escalation) = e pi_D, and then the contest is fought by the target alone."""
    e = 0.4
    actors = {"D": partner(1 - 1e-9, cap=3.0)}
    esc = {"probability": {"mean": e}, "willingness_shift": -40.0}
    ds = run(quick, actors, escalation=esc)
    p_d = pi(C + 3.0, A)
    assert_binomial(ds.p_escalation.values, e * p_d)
    assert_binomial(ds.p_defense_success.values, (1 - e * p_d) * p_d + e * p_d * pi(C, A))
    # with no shift the partner stays, and escalation changes nothing of the outcome
    ds = run(quick, actors, escalation={"probability": {"mean": e}})
    assert_binomial(ds.p_defense_success.values, p_d)


def test_access_without_fighting(quick):
    """Troops 0.3, access 0.6: independent decisions (rho 0) open the bases with 1 - 0.7 * 0.4;
    rho 1 with the resolve: max(0.3, 0.6). Access lifts the host's scaling of another partner
    (E, certain to fight, at 0.25 without H's bases)."""
    for rho, p_open in ((0.0, 1 - 0.7 * 0.4), (1.0, 0.6)):
        help_ = {"access": {"willingness": {"mean": 0.6}, "correlation": rho}}
        actors = {
            "H": partner(0.3, cap=1e-9, contributions=help_),
            "E": partner(1 - 1e-9, cap=4.0, access={"H": 0.25}),
        }
        ds = run(quick, actors)
        pc = ds.p_contributes.sel(actor="H")
        assert_binomial(pc.sel(contribution="access").values, p_open)
        assert_binomial(pc.sel(contribution="troops").values, 0.3)
        won = p_open * pi(C + 4.0, A) + (1 - p_open) * pi(C + 1.0, A)
        assert_binomial(ds.p_defense_success.values, won)


def test_arms_add_to_the_target_from_their_phase(quick):
    """Arms of power 2 with probability 0.5 from phase 2 of two (phase 1 not decisive)."""
    help_ = {"arms": {"willingness": {"mean": 0.5}, "correlation": 0.0,
                      "amount": {"mean": 2.0, "sd": 0.0}, "from_phase": 2}}  # fmt: skip
    ds = run(quick, {"B": partner(1e-6, contributions=help_)}, **two_phases(False))
    assert_binomial(ds.p_defense_success.values, 0.5 * pi(C + 2.0, A) + 0.5 * pi(C, A))
    assert_binomial(ds.p_contributes.sel(actor="B", contribution="arms").values, 0.5)


def test_pivotality_of_bases_and_arms(quick):
    """H's bases open apart from its troops (0.3) with 0.6, and lift E's power from 1 to 4.
    Forced open they win pi(C + 4); withheld they are open only where H fights: the difference
    is 0.7 (pi(C + 4) - pi(C + 1)). B's arms of power 2 (its troops never come), in the one
    phase, in a run of their own: pi(C + 2) - pi(C). With common random numbers each crisis's
    difference is 0 or 1, a Bernoulli draw, over the pivotality crises. A kind nobody lists is
    0, and so are sanctions."""
    help_ = {"access": {"willingness": {"mean": 0.6}, "correlation": 0.0}}
    arms = {"arms": {"willingness": {"mean": 0.5}, "correlation": 0.0,
                     "amount": {"mean": 2.0, "sd": 0.0}, "from_phase": 1}}  # fmt: skip
    bases = run(quick, {"H": partner(0.3, cap=1e-9, contributions=help_),
                        "E": partner(1 - 1e-9, cap=4.0, access={"H": 0.25})})  # fmt: skip
    armed = run(quick, {"B": partner(1e-6, cap=1e-9, contributions=arms)})
    pc, pa = bases.pivotality_contribution, armed.pivotality_contribution
    assert_binomial(pc.sel(actor="H", contribution="access").values,
                    0.7 * (pi(C + 4.0, A) - pi(C + 1.0, A)), N_PIVOTAL)  # fmt: skip
    assert_binomial(pa.sel(actor="B", contribution="arms").values, pi(C + 2.0, A) - pi(C, A),
                    N_PIVOTAL)  # fmt: skip
    for actor, kind in (("E", "access"), ("H", "arms"), ("E", "arms")):
        assert (pc.sel(actor=actor, contribution=kind) == 0.0).all(), (actor, kind)
    assert (pa.sel(actor="B", contribution="access") == 0.0).all()
    assert (pc.sel(contribution="sanctions") == 0.0).all()
    np.testing.assert_array_equal(pc.sel(contribution="troops"), bases.pivotality)
    assert (bases.mcse_pivotality_contribution.sel(actor="H", contribution="access") > 0).all()


def test_sanctions_add_to_the_aggressors_cost(quick):
    """value = prize P(win) - cost - cost_s P(sanctions), with the schema's prize 1, cost 0.3."""
    help_ = {"sanctions": {"willingness": {"mean": 0.8}, "correlation": 0.5, "cost": 0.25}}
    ds = run(quick, {"B": partner(1e-6, contributions=help_)})
    p_s = ds.p_contributes.sel(actor="B", contribution="sanctions")
    assert_binomial(p_s.values, 0.8)
    value = 1.0 * (1.0 - ds.p_defense_success) - 0.3 - 0.25 * p_s
    np.testing.assert_allclose(ds.attack_value.isel(attack_type=0), value, rtol=1e-12)


def test_each_attack_type_has_its_own_balance(quick):
    """A quarantine with its own aggressor power 0.5 and exponent 3, and one phase while the
    invasion has two."""
    types = {
        "invasion": {"probability": 0.5},
        "quarantine": {
            "probability": 0.5,
            "capability": {"mean": 0.5, "sd": 0.0},
            "exponent": 3.0,
            "phases": [{"name": "interdiction"}],
        },
    }
    ds = run(quick, attack_types=types, **two_phases())
    by_type = ds.p_defense_success_by_type
    assert_binomial(by_type.sel(attack_type="quarantine").values, pi(C, 0.5, 3.0))
    assert_binomial(by_type.sel(attack_type="invasion").values, pi(C, A) ** 2)
    # each type's own course: the quarantine ends in its one phase, the invasion in its first
    # with 1 - pi (the aggressor holds the decisive assault), else in the campaign
    own = ds.p_decided_in_phase_by_type
    np.testing.assert_array_equal(own.sel(attack_type="quarantine"), [[1.0, 0.0]] * DRAWS)
    assert_binomial(own.sel(attack_type="invasion", phase=own.phase[0]).values, 1 - pi(C, A))
    np.testing.assert_allclose(own.sum("phase"), 1.0)
    assert ds.phase_name.sel(attack_type="quarantine").values.tolist() == ["interdiction", ""]
    assert ds.phase_name.sel(attack_type="invasion").values.tolist() == ["assault", "campaign"]
    words = results.decisive_words(ds)
    assert "by attack type" in words and "quarantine in 'interdiction' (1.00)" in words, words


def test_coalition_power_is_absolute_when_attack_types_have_their_own_aggressor(quick):
    """The target alone (power C) against an invasion (A) and a quarantine with its own power
    0.5: C / A_t is 2/3 or 4 by type, but the coalition's power is C in every crisis, so every
    quantile of coalition_power is C, to the histogram's resolution (bins of 0.02 in log10, about
    5 %). Scaling the pooled C / A_t by the aggressor's own A instead would give 12 above the
    median."""
    types = {
        "invasion": {"probability": 0.5},
        "quarantine": {"probability": 0.5, "capability": {"mean": 0.5, "sd": 0.0}},
    }
    ds = run(quick, attack_types=types)
    np.testing.assert_allclose(ds.coalition_power, C, rtol=0.05)
    # the ratio is to each type's own aggressor: both values are there when both types are
    w = ds.p_attack_type.sel(attack_type="quarantine").values
    assert np.all((w > 0.1) & (w < 0.9)), w  # both types are likely enough to show
    np.testing.assert_allclose(ds.coalition_power_ratio.sel(quantile=0.05), C / A, rtol=0.05)
    np.testing.assert_allclose(ds.coalition_power_ratio.sel(quantile=0.95), C / 0.5, rtol=0.05)
