"""A config value that cannot take effect is an error naming its path, never a silent no-op."""

from __future__ import annotations

import pytest

from forecast.config import ConfigError
from forecast.config.loading import load_config
from forecast.config.silent import number_for_belief_overrides
from forecast.model import beliefs
from tests.conftest import bare_scenario


def test_an_empty_mapping_override_is_rejected_with_how_to_clear_it():
    with pytest.raises(ConfigError) as info:
        load_config(["scenario.actors.USA.access={}"])
    assert info.value.problems == [
        "scenario.actors.USA.access={} cannot clear scenario.actors.USA.access: a mapping is "
        "merged into the one it overrides, so an empty one changes nothing; remove its entries "
        "one by one with ~scenario.actors.USA.access.<key> (here: ~scenario.actors.USA.access.JPN)"
    ]
    # the way the message gives works, and an empty mapping over an empty one is harmless
    assert dict(load_config(["~scenario.actors.USA.access.JPN"]).scenario.actors.USA.access) == {}
    assert dict(load_config(["scenario.actors.AUS.access={}"]).scenario.actors.AUS.access) == {}


def test_a_number_where_a_belief_is_expected_names_both_ways_to_write_it():
    overrides = [
        "scenario.aggressor.cost=0.5",
        "scenario.attack_types.blockade.prize=0.4",
        "scenario.actors.USA.capability=3",
        "scenario.horizon.opportunities_per_year=0.1",
        "scenario.aggressor.cost.mean=0.5",  # right
        "scenario.horizon.years=4",  # a number indeed
        "scenario.aggressor.cost=0.4,0.5",  # a sweep: each job is checked when it runs
    ]
    problems = number_for_belief_overrides(overrides)
    assert [p.split(" is a belief")[0] for p in problems] == [
        "scenario.aggressor.cost",
        "scenario.attack_types.blockade.prize",
        "scenario.actors.USA.capability",
        "scenario.horizon.opportunities_per_year",
    ]
    assert "write scenario.aggressor.cost.mean=VALUE" in problems[0]
    with pytest.raises(ConfigError, match="write scenario.aggressor.cost.mean=VALUE"):
        load_config(["scenario.aggressor.cost=0.5"])


def test_an_attack_type_with_an_sd_but_no_mean_is_rejected():
    cfg = load_config(["scenario.attack_types.invasion.cost.sd=0.1"])
    assert beliefs.validate(cfg) == [
        "scenario.attack_types.invasion.cost.sd = 0.1 cannot take effect: its mean is not given, "
        "so the type uses scenario.aggressor.cost; give scenario.attack_types.invasion.cost.mean "
        "too, or remove it"
    ]
    # with a mean it is the type's own belief, drawn on its own
    ok = load_config(
        [
            "scenario.attack_types.invasion.cost.mean=0.6",
            "scenario.attack_types.invasion.cost.sd=0.1",
        ]
    )
    problems = beliefs.validate(ok)
    assert problems == [  # and now no type uses the aggressor's cost
        "scenario.aggressor.cost = {mean: 0.5, sd: 0.2} cannot take effect: every attack type "
        "gives its own (scenario.attack_types.<type>.cost); remove it, or remove one type's cost "
        "so that the type uses the aggressor's"
    ]


def test_buck_passing_with_no_one_to_pass_to_is_rejected(quick):
    actors = {"A": {"willingness": {"mean": 0.5}, "capability": {"mean": 1.0}, "buck_passing": 1}}
    cfg = bare_scenario(quick, actors)
    assert beliefs.validate(cfg) == [
        "scenario.actors.A.buck_passing = 1.0 cannot take effect: there is no other partner to "
        "pass the buck to; remove it"
    ]


# the judged-willingness shifts of the Baltic scenario, which a calibrated P(honour) cannot take
BALTIC_SHIFTS = [
    "scenario.actors.USA.engaged.willingness_shift",
    "scenario.actors.GBR.follows.USA",
    "scenario.actors.DEU.follows.USA",
    "scenario.actors.DEU.buck_passing",
    "scenario.actors.FRA.buck_passing",
    "scenario.institutions.NATO.mandate_shift",
    "scenario.institutions.NATO.no_mandate_shift",
]


def test_a_calibrated_willingness_takes_no_judged_shift():
    cfg = load_config(["scenario=baltic", "beliefs.source=calibrated"])
    problems = beliefs.validate(cfg)
    assert sorted(p.split(" = ")[0] for p in problems) == sorted(BALTIC_SHIFTS)
    assert all("cannot take effect: beliefs.source is calibrated" in p for p in problems)
    assert "(~scenario.actors.GBR.follows.USA)" in " ".join(problems)
    # the ways the messages give work; the same values with config beliefs are fine
    fixed = [
        "~scenario.actors.GBR.follows.USA",
        "~scenario.actors.DEU.follows.USA",
        "scenario.actors.USA.engaged.willingness_shift=0",
        "scenario.actors.DEU.buck_passing=0",
        "scenario.actors.FRA.buck_passing=0",
        "scenario.institutions.NATO.mandate_shift=0",
        "scenario.institutions.NATO.no_mandate_shift=0",
    ]
    assert (
        beliefs.validate(load_config(["scenario=baltic", "beliefs.source=calibrated", *fixed]))
        == []
    )
    assert beliefs.validate(load_config(["scenario=baltic"])) == []


def test_a_calibrated_type_multiplier_is_a_trigger_probability():
    cfg = load_config(
        [
            "scenario=taiwan",
            "beliefs.source=calibrated",
            "scenario.actors.USA.engaged.willingness_shift=0",
            "scenario.actors.AUS.buck_passing=0",
            "scenario.actors.USA.type_willingness.blockade=1.2",
        ]
    )
    assert beliefs.validate(cfg) == [
        "scenario.actors.USA.type_willingness.blockade must be at most 1 with beliefs.source="
        "calibrated, got 1.2: it is then the probability that an attack of type blockade "
        "triggers the commitment"
    ]
