"""Config values that cannot take effect: each is an error naming its path, never a silent no-op.

Two kinds. :func:`silent_values` finds values in a composed config that the model never reads
(the aggressor's prize when every attack type gives its own, an attack type's probability when
the aggressor chooses the type, the effects of an engagement that never happens, an institution's
key its rule does not read, a factor no partner loads on, a stopping-rule cap without a target,
...). A value is reported only when it differs from the schema's default: a default cannot be
told apart from a value nobody wrote. :func:`empty_mapping_overrides` and :func:`empty_mappings`
find an empty mapping written to clear a non-empty one (``scenario.actors.USA.access={}``): Hydra
and OmegaConf merge a mapping into the one it overrides, so an empty one changes nothing; and a
plain number where a belief ``{mean, sd}`` is expected (:func:`number_for_belief_overrides` for
the command line, before Hydra composes).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from forecast.config.elicitation import is_elicited
from forecast.config.schema import (
    AggressorConfig,
    EngagedConfig,
    InstitutionConfig,
    SamplerConfig,
    ScenarioConfig,
)

AGGRESSOR_BELIEFS = ("prize", "cost", "decision_noise")


def _belief(b: Any) -> Any:
    """What a belief states, comparable with the schema's default."""
    return OmegaConf.to_container(OmegaConf.structured(b) if not isinstance(b, DictConfig) else b)


def own_belief(attack_type: Any, key: str) -> Any:
    """An attack type's own prize, cost or decision noise, or None when it uses the aggressor's
    (neither its mean nor elicited quantiles are given)."""
    node = attack_type[key]
    return None if OmegaConf.is_missing(node, "mean") and not is_elicited(node) else node


def _aggressor(sc: Any) -> list[str]:
    out = []
    default = AggressorConfig()
    types = sc.attack_types
    for key in AGGRESSOR_BELIEFS:
        given = sc.aggressor[key]
        for name, t in types.items():
            if own_belief(t, key) is None and float(t[key].sd) != 0:  # sd alone
                out.append(
                    f"scenario.attack_types.{name}.{key}.sd = {t[key].sd} cannot take effect: "
                    f"its mean is not given, so the type uses scenario.aggressor.{key}; give "
                    f"scenario.attack_types.{name}.{key}.mean too, or remove it"
                )
        if not types or any(own_belief(t, key) is None for t in types.values()):
            continue
        if _belief(given) != _belief(getattr(default, key)):
            stated = {k: v for k, v in _belief(given).items() if v is not None}
            text = "{" + ", ".join(f"{k}: {v}" for k, v in stated.items()) + "}"
            out.append(
                f"scenario.aggressor.{key} = {text} cannot take "
                f"effect: every attack type gives its own (scenario.attack_types.<type>.{key}); "
                f"remove it, or remove one type's {key} so that the type uses the aggressor's"
            )
    if bool(sc.aggressor.choose_type):
        for name, t in types.items():
            if float(t.probability) != 1.0:
                out.append(
                    f"scenario.attack_types.{name}.probability = {t.probability} cannot take "
                    "effect: scenario.aggressor.choose_type is true, so the aggressor picks the "
                    "type it values most; remove it, or set scenario.aggressor.choose_type=false"
                )
    late = float(sc.late_discount)
    if float(sc.aggressor.fait_accompli.mean) == 0 and late != ScenarioConfig().late_discount:
        out.append(
            f"scenario.late_discount = {sc.late_discount} cannot take effect: there is no "
            "fait accompli (scenario.aggressor.fait_accompli.mean is 0), so no force arrives "
            "late; remove it, or give the fait-accompli time"
        )
    return out


def _partners(cfg: Any) -> list[str]:
    out = []
    sc = cfg.scenario
    engaged = EngagedConfig()
    source = cfg.beliefs.source if "beliefs" in cfg else "config"
    calibrated = str(getattr(source, "value", source)) == "calibrated"
    for code, p in sc.actors.items():
        base = f"scenario.actors.{code}"
        e = p.engaged
        if float(e.probability) == 0:
            for key in ("capability_factor", "willingness_shift"):
                if float(e[key]) != getattr(engaged, key):
                    out.append(
                        f"{base}.engaged.{key} = {e[key]} cannot take effect: "
                        f"{base}.engaged.probability is 0 (never engaged elsewhere); give the "
                        "probability, or remove it"
                    )
        if float(p.buck_passing) != 0 and len(sc.actors) == 1:
            out.append(
                f"{base}.buck_passing = {p.buck_passing} cannot take effect: there is no other "
                "partner to pass the buck to; remove it"
            )
        shift = float(p.willingness.calibrated_shift)
        if shift != 0 and not calibrated:
            out.append(
                f"{base}.willingness.calibrated_shift = {shift} cannot take effect: it shifts "
                "calibrated draws, and beliefs.source is config; set beliefs.source=calibrated, "
                "or move willingness.mean instead"
            )
    if "calibration" in cfg and cfg.calibration.posterior is not None and not calibrated:
        out.append(
            f"calibration.posterior = {cfg.calibration.posterior} cannot take effect: "
            "beliefs.source is config; set beliefs.source=calibrated, or remove it"
        )
    return out + _aggressor_link(cfg)


def aggressor_calibrated(cfg: Any) -> bool:
    """``beliefs.aggressor_source`` is ``calibrated``."""
    source = cfg.beliefs.get("aggressor_source", "config") if "beliefs" in cfg else "config"
    return str(getattr(source, "value", source)) == "calibrated"


def _aggressor_link(cfg: Any) -> list[str]:
    """The initiation posterior's settings, which only beliefs.aggressor_source=calibrated reads."""
    if "calibration" not in cfg or aggressor_calibrated(cfg):
        return []
    from forecast.config.schema import PosteriorLinkConfig

    default = PosteriorLinkConfig()
    out = []
    for key in ("deterrence_posterior", "deterrence_pacts", "data_dir"):
        value = cfg.calibration.get(key)
        plain = getattr(value, "value", value)
        if plain != getattr(getattr(default, key), "value", getattr(default, key)):
            out.append(
                f"calibration.{key} = {plain} cannot take effect: beliefs.aggressor_source is "
                "config; set beliefs.aggressor_source=calibrated, or remove it"
            )
    return out


# rule -> the institution's keys that the rule reads (besides its members)
_SHIFTS = {"mandate_shift", "no_mandate_shift"}
_VOTES = {"vote", "vote_correlation", *_SHIFTS}
_READS = {
    "individual": set(),  # members decide alone: no vote, no mandate, so no shift either
    "unanimity": _VOTES,
    "consensus": {"abstain", *_VOTES},
    "qualified_majority": {"k", *_VOTES},
    "veto": {"k", "veto", "abstain", *_VOTES},
}


def _institutions(sc: Any) -> list[str]:
    out = []
    default = InstitutionConfig()
    for name, inst in sc.institutions.items():
        base = f"scenario.institutions.{name}"
        rule = str(getattr(inst.rule, "value", inst.rule))
        for key in ("vote", "abstain", "k", "veto", "vote_correlation", *sorted(_SHIFTS)):
            value = inst[key]
            unset = not len(value) if key in ("vote", "veto") else value == getattr(default, key)
            if key in _READS[rule] or unset:
                continue
            out.append(
                f"{base}.{key} = {value} cannot take effect under rule "
                f"{rule}; remove it, or choose a rule that uses it"
            )
        rho = float(inst.vote_correlation)
        if rule != "individual" and rho != default.vote_correlation:
            if not any(m in sc.actors for m in inst.members):
                out.append(
                    f"{base}.vote_correlation = {rho} cannot take effect: no member of {name} "
                    "is a partner, and only a partner's vote has a resolve to correlate with; "
                    "remove it"
                )
    return out


def _calibrated(cfg: Any) -> list[str]:
    """With ``beliefs.source=calibrated`` a partner's willingness is P(honour | its commitment
    is triggered): the probit shifts of a judged willingness cannot take effect on it (the
    historical rate already averages over leaders, peers, other wars and collective decisions),
    and a type multiplier is the probability that the type triggers the commitment (<= 1)."""
    source = cfg.beliefs.source if "beliefs" in cfg else "config"
    if str(getattr(source, "value", source)) != "calibrated":
        return []
    sc = cfg.scenario
    why = (
        "beliefs.source is calibrated, and a calibrated willingness is P(honour | the "
        "commitment is triggered), which the historical record gives with every such "
        "condition averaged in (see docs/calibration.md); "
    )
    out = []
    for code, p in sc.actors.items():
        base = f"scenario.actors.{code}"
        for other, v in p.follows.items():
            if float(v) != 0:
                out.append(
                    f"{base}.follows.{other} = {v} cannot take effect: {why}remove it "
                    f"(~{base}.follows.{other}), or use {base}.willingness.calibrated_shift"
                )
        if float(p.buck_passing) != 0:
            out.append(
                f"{base}.buck_passing = {p.buck_passing} cannot take effect: {why}set it to 0 "
                f"({base}.buck_passing=0), or use {base}.willingness.calibrated_shift"
            )
        shift = float(p.engaged.willingness_shift)
        if shift != 0 and float(p.engaged.probability) > 0:
            out.append(
                f"{base}.engaged.willingness_shift = {shift} cannot take effect: {why}set it to "
                f"0 ({base}.engaged.willingness_shift=0; the engagement still scales its power)"
            )
        for t, v in p.type_willingness.items():
            if float(v) > 1:
                out.append(
                    f"{base}.type_willingness.{t} must be at most 1 with beliefs.source="
                    f"calibrated, got {v}: it is then the probability that an attack of type "
                    f"{t} triggers the commitment"
                )
    for name, inst in sc.institutions.items():
        base = f"scenario.institutions.{name}"
        rule = str(getattr(inst.rule, "value", inst.rule))
        if rule == "individual" or not any(m in sc.actors for m in inst.members):
            continue
        for key in sorted(_SHIFTS):
            if float(inst[key]) != 0:
                out.append(
                    f"{base}.{key} = {inst[key]} cannot take effect: {why}for a calibrated "
                    f"member only a mandate triggers the commitment; set it to 0 ({base}.{key}=0)"
                )
    return out


def _factors(sc: Any) -> list[str]:
    loaded = {f for p in sc.actors.values() for f, v in p.loadings.items() if float(v) != 0}
    return [
        f"scenario.factors.{f} cannot take effect: no partner loads on it "
        f"(scenario.actors.<code>.loadings.{f}); remove it, or give a loading"
        for f in sc.factors
        if f not in loaded
    ]


def _sampler(cfg: Any) -> list[str]:
    if "sampler" not in cfg or cfg.sampler.target_mcse is not None:
        return []
    default = SamplerConfig()
    out = []
    for key in ("target_mcse_scope", "max_realizations", "max_seconds"):
        value = cfg.sampler[key]
        plain = getattr(value, "value", value)
        if plain != getattr(getattr(default, key), "value", getattr(default, key)):
            out.append(
                f"sampler.{key} = {plain} cannot take effect: it belongs to the precision "
                "stopping rule, and sampler.target_mcse is null; give sampler.target_mcse, or "
                "remove it"
            )
    return out


def silent_values(cfg: Any) -> list[str]:
    """Problems: values of ``cfg`` that differ from the schema's default but change nothing."""
    sc = cfg.scenario
    return (
        _aggressor(sc)
        + _partners(cfg)
        + _institutions(sc)
        + _calibrated(cfg)
        + _factors(sc)
        + _sampler(cfg)
        + _war(sc)
    )


def _war(sc: Any) -> list[str]:
    """The war as a process (docs/war.md): attrition where no war has a second phase,
    war.phases where every attack type has its own, and the slope of the target's resolve or the
    escalation's shift without their probability."""
    out = []
    own = [at.phases for at in sc.attack_types.values()]
    wars = [list(p) if p is not None else list(sc.war.phases) for p in own] or [sc.war.phases]
    if float(sc.war.attrition) != 0 and all(len(phases) <= 1 for phases in wars):
        out.append(
            f"scenario.war.attrition = {sc.war.attrition} cannot take effect: every attack "
            "type's war has one phase, and attrition acts between phases; give a second phase "
            "(scenario.war.phases), or remove it"
        )
    if len(sc.war.phases) and own and all(p is not None for p in own):
        names = [ph.name for ph in sc.war.phases]
        out.append(
            f"scenario.war.phases = {names} cannot take effect: every attack type gives its own "
            "(scenario.attack_types.<type>.phases); remove it, or remove one type's phases"
        )
    for path, key, node in (
        ("scenario.target.resolve", "balance_slope", sc.target.resolve),
        ("scenario.escalation", "willingness_shift", sc.escalation),
    ):
        off = OmegaConf.is_missing(node.probability, "mean") and not is_elicited(node.probability)
        if off and float(node[key]) != 0:
            out.append(
                f"{path}.{key} = {node[key]} cannot take effect: {path}.probability is not "
                "given, so the mechanism is off; give it, or remove it"
            )
    return out


def _node(cfg: Any, path: str) -> Any:
    try:
        return OmegaConf.select(cfg, path, throw_on_missing=False)
    except Exception:  # an unresolvable path: Hydra reports it on its own
        return None


def _empty_problem(path: str, node: Any) -> str:
    first = next(iter(node))
    return (
        f"{path}={{}} cannot clear {path}: a mapping is merged into the one it overrides, so an "
        f"empty one changes nothing; remove its entries one by one with ~{path}.<key> "
        f"(here: ~{path}.{first})"
    )


@functools.lru_cache(maxsize=4096)
def _schema_type(path: str) -> Any:
    """The schema's type at a dotted path of a run config (a dict's keys are any key), or None."""
    import dataclasses
    import typing

    from forecast.config.schema import RunConfig

    tp: Any = RunConfig
    for part in path.split("."):
        if typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
            continue
        if not dataclasses.is_dataclass(tp):
            return None
        hints = typing.get_type_hints(tp)
        if part not in hints:
            return None
        tp = hints[part]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) is not dict and len(args) == 1:  # X | None
            tp = args[0]
    return tp


def number_for_belief_overrides(overrides: Sequence[str]) -> list[str]:
    """Problems: overrides ``path=<number>`` where the schema has a belief ``{mean, sd}``.

    Checked before Hydra composes, whose own message names the type but not how to write it.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from forecast.config.schema import CapabilityBelief

    out = []
    for ov in OverridesParser.create().parse_overrides(list(overrides)):
        if ov.is_delete() or ov.is_sweep_override():
            continue
        value = ov.value()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if _schema_type(ov.key_or_group) is CapabilityBelief:
                out.append(belief_hint(ov.key_or_group, value))
    return out


def numbers_for_beliefs(tree: Any, prefix: str) -> list[str]:
    """Problems: plain numbers in a config file's ``tree`` (merged at ``prefix``, such as
    ``scenario``) where the schema has a belief ``{mean, sd}``.

    Hydra's own message for one names the value but not the key when the file is a config
    group's option; this finds the key.
    """
    from forecast.config.schema import CapabilityBelief

    out = []
    if not isinstance(tree, (Mapping, DictConfig)):
        return out
    for key, value in tree.items():
        path = f"{prefix}.{key}"
        if isinstance(value, (Mapping, DictConfig)):
            out.extend(numbers_for_beliefs(value, path))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if _schema_type(path) is CapabilityBelief:
                out.append(belief_hint(path, value))
    return out


def empty_mapping_overrides(cfg: Any, overrides: Sequence[str]) -> list[str]:
    """Problems: command-line overrides ``path={}`` whose target in ``cfg`` is not empty."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out = []
    for ov in OverridesParser.create().parse_overrides(list(overrides)):
        if ov.is_delete() or ov.is_sweep_override():
            continue
        value = ov.value()
        if isinstance(value, Mapping) and not value:
            path = ov.key_or_group
            node = _node(cfg, path)
            if isinstance(node, (Mapping, DictConfig)) and len(node):
                out.append(_empty_problem(path, node))
    return out


def belief_hint(path: str, value: Any = None) -> str:
    """How to write the belief at ``path`` that was given as a plain number (``value``)."""
    got = "" if value is None else f", got the number {value}"
    return (
        f"{path} is a belief {{mean, sd}} (sd 0: known){got}: write {path}.mean=VALUE on the "
        f"command line, or {path.rsplit('.', 1)[-1]}: {{mean: VALUE, sd: 0}} in a file"
    )


def _belief_type() -> type:
    from forecast.config.schema import CapabilityBelief

    return CapabilityBelief


def _is_belief(node: Any) -> bool:
    return isinstance(node, (Mapping, DictConfig)) and {"mean", "sd"} <= set(node.keys())


def empty_mappings(cfg: Any, extra: Any, prefix: str = "") -> list[str]:
    """Problems of a tree ``extra`` merged into ``cfg``: empty mappings over non-empty ones, and
    plain numbers where ``cfg`` holds a belief ``{mean, sd}``."""
    out = []
    if not isinstance(extra, (Mapping, DictConfig)):
        return out
    for key, value in extra.items():
        path = f"{prefix}{key}"
        node = _node(cfg, path)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and (_is_belief(node) or _schema_type(path) is _belief_type()):
            out.append(belief_hint(path, value))
        elif isinstance(value, (Mapping, DictConfig)) and not len(value):
            if isinstance(node, (Mapping, DictConfig)) and len(node):
                out.append(_empty_problem(path, node))
        elif isinstance(value, (Mapping, DictConfig)):  # new keys too: a new partner's numbers
            out.extend(empty_mappings(cfg, value, f"{path}."))
    return out
