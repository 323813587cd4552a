"""Every config composes; every deliberately wrong config fails with its own message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf, open_dict

from forecast.config import ConfigError
from forecast.config.loading import config_dir, load_config, merge
from forecast.model import beliefs

CONFIG_DIR = config_dir()

WRONG = sorted((Path(__file__).parents[1] / "configs").glob("wrong_*.yaml"))


def _primary_of_groups() -> dict[str, str]:
    """Group name -> the primary config (run, calibrate, ...) whose defaults list uses it."""
    out = {}
    for primary in sorted(CONFIG_DIR.glob("*.yaml")):
        for entry in OmegaConf.load(primary).get("defaults", []):
            if isinstance(entry, (dict, DictConfig)):
                for group in entry:
                    out[str(group)] = primary.stem
    return out


PRIMARY = _primary_of_groups()
GROUPS = {
    group.name: sorted(p.stem for p in group.glob("*.yaml"))
    for group in CONFIG_DIR.iterdir()
    if group.is_dir()
}


def _expected(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    m = re.match(r"# expect: (.*)", first)
    assert m, f"{path.name} must start with '# expect: <message>'"
    return m.group(1)


@pytest.mark.parametrize(
    "group,option", [(g, o) for g, opts in sorted(GROUPS.items()) for o in opts]
)
def test_every_config_composes_and_validates(group, option):
    assert group in PRIMARY, f"configs/{group}/ is used by no primary config's defaults"
    if PRIMARY[group] == "calibrate":
        from forecast.config.calibration import register_configs

        register_configs()
    cfg = load_config([f"{group}={option}"], config_name=PRIMARY[group])
    assert OmegaConf.to_yaml(cfg)
    if PRIMARY[group] == "run":
        assert beliefs.validate(cfg) == []


@pytest.mark.parametrize("primary", sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
def test_every_primary_config_composes(primary):
    if primary == "calibrate":
        from forecast.config.calibration import register_configs

        register_configs()
    assert OmegaConf.to_yaml(load_config([], config_name=primary))


def test_there_are_at_least_ten_kinds_of_mistake():
    assert len(WRONG) >= 10
    assert len({_expected(p) for p in WRONG}) == len(WRONG)


def _apply(path: Path):
    cfg = load_config(["scenario=taiwan"])
    with open_dict(cfg):  # a wrong file may add an actor, as `+scenario.actors.X=...` would
        merged = merge(cfg, OmegaConf.load(path))
    beliefs.check(merged)


@pytest.mark.parametrize("path", WRONG, ids=[p.stem for p in WRONG])
def test_wrong_config_fails_with_its_own_message(path):
    with pytest.raises(ConfigError) as info:
        _apply(path)
    assert _expected(path) in str(info.value)
    # only the intended problem is reported
    assert len(info.value.problems) == 1, info.value.problems


def test_every_problem_is_reported_at_once():
    cfg = load_config(
        [
            "scenario.actors.USA.willingness.mean=1.7",
            "scenario.actors.JPN.willingness.interval=[0.9,0.1]",
            "scenario.aggressor.decision_noise.mean=0",
            "sampler.draws=0",
        ]
    )
    problems = beliefs.validate(cfg)
    assert len(problems) == 4
    text = str(ConfigError(problems))
    assert text.startswith("4 errors in the configuration:")
    for path in (
        "scenario.actors.USA.willingness.mean",
        "scenario.actors.JPN.willingness.interval",
        "scenario.aggressor.decision_noise",
        "sampler.draws",
    ):
        assert path in text


def test_partner_limit_matches_the_kernel():
    from forecast.config import rules as validation
    from forecast.model import kernels

    assert validation.MAX_PARTNERS == kernels.MAX_PARTNERS
    cfg = load_config(["scenario=taiwan"])
    extra = {
        f"X{k:02d}": {"willingness": {"mean": 0.5}, "capability": {"mean": 1.0}} for k in range(62)
    }
    with open_dict(cfg):
        cfg.merge_with({"scenario": {"actors": extra}})
    problems = beliefs.validate(cfg)
    assert problems == ["scenario.actors: at most 64 partners, got 66"]
