"""The scenario library reproduces the qualitative facts its sources report (domain brief)."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.jobs.run import simulate
from forecast.sampling import sampler
from tests.conftest import quick_config

YES, NO = 1 - 1e-9, 1e-9


def invasion_defense(fixed, *overrides):
    cfg = quick_config("scenario=taiwan", *overrides, draws=60, realizations=4000)
    plan = sampler.make_plan(cfg, fixed=fixed)
    stats = sampler.summarise(plan, sampler.run_local(plan))
    invasion = list(plan.model.attack_types).index("invasion")
    return float(stats["p_defense_success_by_type"][:, invasion].mean())


def test_taiwan_defense_falls_sharply_when_japan_stands_aside():
    """CSIS (2023): Japan letting the US use its bases is the pivotal condition."""
    no_entangle = "scenario.actors.JPN.allies.USA=0"
    both = invasion_defense({"willingness[USA]": YES, "willingness[JPN]": YES}, no_entangle)
    # Japan stands aside: it neither fights nor opens its bases
    aside = {"willingness[USA]": YES, "willingness[JPN]": NO, "access[JPN]": NO}
    us_alone = invasion_defense(aside, no_entangle)
    neither = invasion_defense({"willingness[USA]": NO}, no_entangle)
    assert both > 0.6  # CSIS: the US, Taiwan and Japan defeated the landing in most runs
    assert us_alone < 0.5 * both  # falls sharply
    # CSIS: China's few wins came when the US and Japan did not act together (secondary);
    # the model's reading, stronger than the source's: without both, less than even odds
    assert us_alone < 0.5 and neither < 0.5
    # Japan's bases without its forces: most of the way back (access is its own decision)
    bases = invasion_defense({**aside, "access[JPN]": YES}, no_entangle)
    assert us_alone < bases < both


def test_taiwan_japan_is_more_pivotal_than_australia_and_the_philippines():
    ds = simulate(quick_config("scenario=taiwan", draws=40, realizations=4000))
    piv = ds.pivotality.mean("draw")
    assert float(piv.sel(actor="JPN")) > 3 * float(piv.sel(actor="AUS"))
    assert float(piv.sel(actor="JPN")) > 3 * float(piv.sel(actor="PHL"))


def test_baltic_fait_accompli_comes_before_the_reinforcements():
    """RAND (2016): Tallinn or Riga reached within 60 hours, before reinforcements arrive."""
    ds = simulate(quick_config("scenario=baltic", draws=40, realizations=4000))
    joins = ds.p_join.mean("draw")
    in_time = ds.p_join_in_time.mean("draw")
    for code in ("USA", "GBR", "DEU", "FRA"):
        assert float(in_time.sel(actor=code)) < 0.1 * float(joins.sel(actor=code)), code
    assert float(ds.fait_accompli.max()) < float(ds.delay.sel(actor="USA").min())
    # forward forces (RAND: about seven brigades) are what changes the outcome
    forward = simulate(
        quick_config(
            "scenario=baltic", "scenario.target.capability.mean=6", draws=40, realizations=4000
        )
    )
    assert float(forward.p_defense_success.mean()) > float(ds.p_defense_success.mean()) + 0.2


def test_manchuria_the_aggressors_veto_blocks_the_leagues_mandate():
    ds = simulate(quick_config("scenario=manchuria_1931", draws=20, realizations=2000))
    np.testing.assert_array_equal(ds.p_mandate.sel(institution="LEAGUE"), 0.0)
    assert float(ds.p_coalition_forms.mean()) < 0.2  # the League failed to act


def test_czechoslovakia_the_soviet_obligation_hinged_on_france():
    ds = simulate(quick_config("scenario=czechoslovakia_1938", draws=20, realizations=2000))
    assert np.all(ds.p_join.sel(actor="SUN") <= ds.p_join.sel(actor="FRA"))
    assert float(ds.p_join.sel(actor="FRA").mean()) < 0.5  # not honoured
    # the scenario states no misperception: no attack is a miscalculation, although attacks
    # are repelled (an outcome, not a belief error)
    np.testing.assert_array_equal(ds.p_miscalculation, 0.0)
    assert float(ds.p_attack_repelled.mean()) > 0.05


def _defense(scenario, fixed):
    cfg = quick_config(f"scenario={scenario}", draws=20, realizations=2000)
    plan = sampler.make_plan(cfg, fixed=fixed)
    return float(sampler.summarise(plan, sampler.run_local(plan))["p_defense_success"].mean())


def test_poland_the_guarantees_make_joining_likely_but_britain_cannot_arrive_in_time():
    """The beliefs are pre-war (guarantee of 31 March 1939, Kasprzycki-Gamelin protocol); the
    test checks what the model must do with them, not the outcome: both allies more likely than
    not to join, Britain's forces never in Poland before the fait accompli, France's promised
    offensive by day 15 in time far more often, and Poland's fate hinging on France."""
    ds = simulate(quick_config("scenario=poland_1939", draws=20, realizations=2000))
    joins, in_time = ds.p_join.mean("draw"), ds.p_join_in_time.mean("draw")
    for code in ("GBR", "FRA"):
        assert float(joins.sel(actor=code)) > 0.5
    assert float(in_time.sel(actor="GBR")) < 0.05
    assert float(in_time.sel(actor="FRA")) > 5 * float(in_time.sel(actor="GBR"))
    assert _defense("poland_1939", {"willingness[FRA]": YES}) > 0.2 + _defense(
        "poland_1939", {"willingness[FRA]": NO}
    )


def test_kuwait_a_coalition_forms_and_its_success_hinges_on_the_united_states():
    """Pre-crisis beliefs (no treaty; Carter Doctrine): a coalition of some partner is likely,
    Saudi Arabia and Egypt act only with the US, the defence succeeds mainly when the US comes,
    and a Security Council mandate is possible but not assured."""
    ds = simulate(quick_config("scenario=kuwait_1990", draws=20, realizations=2000))
    assert float(ds.p_coalition_forms.mean()) > 0.7
    for code in ("SAU", "EGY"):
        assert np.all(ds.p_join.sel(actor=code) <= ds.p_join.sel(actor="USA") + 1e-12)
    assert _defense("kuwait_1990", {"willingness[USA]": YES}) > 0.2 + _defense(
        "kuwait_1990", {"willingness[USA]": NO}
    )
    assert 0.05 < float(ds.p_mandate.mean()) < 0.95


@pytest.mark.parametrize("scenario", ["taiwan", "baltic"])
def test_outputs_of_the_full_model_are_present_and_consistent(scenario):
    ds = simulate(quick_config(f"scenario={scenario}", draws=10, realizations=2000))
    for name in (
        "p_deterrence",
        "p_join_in_time",
        "p_miscalculation",
        "p_entangled",
        "pivotality",
        "coalition_power",
        "mcse_p_join_in_time",
        "mcse_pivotality",
        "mcse_p_miscalculation",
        "mcse_p_entangled",
        "p_attack_within_horizon",
        "mcse_p_attack_within_horizon",
        "p_attack_true_beliefs",
        "p_attack_repelled",
        "p_attack_failed",
        "prize",
        "cost",
        "decision_noise",
        "opportunities_per_year",
    ):
        assert name in ds, name
    np.testing.assert_allclose(ds.p_deterrence, 1 - ds.p_attack)
    assert np.all(ds.p_join_in_time <= ds.p_join)
    assert np.all(ds.p_entangled <= ds.p_join)
    assert np.all(ds.p_miscalculation <= ds.p_attack + 1e-12)
    assert np.all(ds.p_attack_repelled <= ds.p_attack_failed + 1e-12)
    assert np.all(ds.p_attack_failed <= ds.p_attack + 1e-12)
    assert np.all(ds.p_attack_within_horizon >= 0) and np.all(ds.p_attack_within_horizon <= 1)
    assert ds.prize.dims == ("draw", "attack_type")
    assert set(ds.p_join_by_type.dims) == {"draw", "attack_type", "actor"}
    np.testing.assert_allclose(ds.p_attack_type.sum("attack_type"), 1.0)
    assert np.all(ds.coalition_power.diff("quantile") >= 0)
