"""Every domain rule of a run config, checked in one pass that reports all problems at once.

Each message names the config path and the value it got. Hydra's typed schema has already
rejected unknown keys and wrong types; these are the rules a type cannot express.
"""

from __future__ import annotations

import math
from typing import Any

from omegaconf import OmegaConf

from forecast.config import elicitation
from forecast.config.executor import validate as executor_problems
from forecast.config.silent import (
    AGGRESSOR_BELIEFS,
    aggressor_calibrated,
    own_belief,
    silent_values,
)

ATTACK = "attack"  # the name of the single attack type when a scenario lists none
MAX_PARTNERS = 64  # the same as forecast.model.kernels.MAX_PARTNERS (test_configs checks)


def _is_prob(x: Any) -> bool:
    return x is not None and 0.0 < float(x) < 1.0


class _Rules:
    """Collects problems; each method is one row of the constraints table."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, msg: str) -> None:
        self.problems.append(msg)

    def open_prob(self, path: str, x: Any) -> None:
        if not _is_prob(x):
            self.add(f"{path} must be a probability in (0, 1), got {x}")

    def closed_prob(self, path: str, x: Any) -> None:
        if x is None or not 0.0 <= float(x) <= 1.0:
            self.add(f"{path} must lie in [0, 1], got {x}")

    def positive(self, path: str, x: Any) -> None:
        if x is None or not float(x) > 0:
            self.add(f"{path} must be > 0, got {x}")
        else:
            self.finite(path, x)

    def non_negative(self, path: str, x: Any) -> None:
        if x is None or not float(x) >= 0:
            self.add(f"{path} must be >= 0, got {x}")
        else:
            self.finite(path, x)

    def finite(self, path: str, x: Any) -> None:
        """A number without bounds (a shift, a bias) must still be a number: not nan or inf."""
        if x is not None and not math.isfinite(float(x)):
            self.add(f"{path} must be a finite number, got {x}")

    def partner(self, path: str, code: str, partners: set[str], self_code: str) -> None:
        if code == self_code:
            self.add(f"{path}: a partner cannot refer to itself ({code})")
        elif code not in partners:
            self.add(f"{path}: unknown partner '{code}' (partners: {sorted(partners)})")

    def willingness(self, path: str, w: Any) -> None:
        if elicitation.is_elicited(w):
            self.problems.extend(elicitation.problems(path, w, "beta"))
            return
        self.open_prob(f"{path}.mean", w.mean)
        if w.concentration is not None and w.interval is not None:
            self.add(
                f"{path}: give either concentration or interval, not both "
                f"(got concentration={w.concentration}, interval={list(w.interval)})"
            )
        if w.concentration is not None:
            self.positive(f"{path}.concentration", w.concentration)
        if w.interval is not None:
            iv = list(w.interval)
            if len(iv) != 2:
                self.add(f"{path}.interval must be [low, high], got {iv}")
            elif not (_is_prob(iv[0]) and _is_prob(iv[1])):
                self.add(f"{path}.interval bounds must lie in (0, 1), got {iv}")
            elif not iv[0] < iv[1]:
                self.add(f"{path}.interval must be ordered (low < high), got {iv}")

    def capability(self, path: str, c: Any) -> None:
        if elicitation.is_elicited(c):
            self.problems.extend(elicitation.problems(path, c, "lognormal"))
            return
        self.positive(f"{path}.mean", c.mean)
        self.non_negative(f"{path}.sd", c.sd)

    def belief(self, path: str, b: Any, zero_ok: bool = False) -> None:
        """A :class:`~forecast.config.schema.CapabilityBelief` ``{mean, sd}``; with ``zero_ok`` a
        known 0 is allowed (a log-normal cannot spread around 0)."""
        if not zero_ok or elicitation.is_elicited(b):
            self.capability(path, b)
            return
        self.non_negative(f"{path}.mean", b.mean)
        self.non_negative(f"{path}.sd", b.sd)
        if float(b.mean) == 0 and float(b.sd) > 0:
            self.add(f"{path}: a spread needs a positive mean, got mean {b.mean} and sd {b.sd}")

    def delay(self, path: str, d: Any) -> None:
        self.non_negative(f"{path}.mean", d.mean)
        self.non_negative(f"{path}.sd", d.sd)
        self.non_negative(f"{path}.spread", d.spread)
        if float(d.mean) == 0 and (float(d.sd) > 0 or float(d.spread) > 0):
            self.add(f"{path}: a spread needs a positive mean, got mean {d.mean}")


def attack_type_names(sc: Any) -> list[str]:
    return list(sc.attack_types.keys()) or [ATTACK]


def dependency_cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Cycles in ``edges`` (node -> nodes it depends on), each as a list of nodes: one for each
    edge back to a node on the search's path, so that every cycle a user wrote in a separate
    place is reported (a cycle that shares an edge with one found may be folded into it)."""
    state: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in edges:
        if node not in state:
            visit(node)
    return found


def validate(cfg: Any) -> list[str]:
    """Check every domain rule of a run config.

    Returns
    -------
    list of str
        One message per problem, each naming its config path and the value it got. Empty when
        the config is valid.
    """
    missing = missing_values(cfg)
    if missing:  # the other rules read these values: report them alone
        return missing
    r = _Rules()
    _scenario_rules(r, cfg)
    r.problems.extend(silent_values(cfg))
    _attack_type_sum_rule(r, cfg.scenario)
    _actor_rules(r, cfg.scenario)
    _institution_rules(r, cfg.scenario)
    _war_rules(r, cfg.scenario)
    _sampler_rules(r, cfg.sampler)
    _aggressor_source_rules(r, cfg)
    if "executor" in cfg:
        r.problems.extend(executor_problems(cfg.executor))
    return r.problems


def missing_values(cfg: Any) -> list[str]:
    """Problems: required values that were never given (``???`` in the composed config).

    An attack type's prize, cost or decision noise without a mean is not missing: the type uses
    the aggressor's. Nor is the mean of a belief given by quantiles or experts.
    """
    out = []
    for key in sorted(OmegaConf.missing_keys(cfg)):
        parts = key.split(".")
        if parts[-1] == "mean":
            node = OmegaConf.select(cfg, ".".join(parts[:-1]))
            if parts[:2] == ["scenario", "attack_types"] or elicitation.is_elicited(node):
                continue
            if key in OPTIONAL_BELIEFS:  # no mean: the mechanism is off
                continue
        out.append(f"{key} is required, got ??? (missing)")
    return out


def _scenario_rules(r: _Rules, cfg: Any) -> None:
    """The scenario's own parts: who is who, the aggressor, the contest, the horizon, the types."""
    sc = cfg.scenario
    partners = set(sc.actors.keys())
    agg, tgt = sc.aggressor, sc.target
    if agg.code == tgt.code:
        r.add(f"scenario.target.code must differ from the aggressor's, got {tgt.code}")
    for code in sc.actors:
        if code in (agg.code, tgt.code):
            r.add(f"scenario.actors.{code}: a partner cannot also be the aggressor or the target")
    if not partners:
        r.add("scenario.actors must name at least one partner, got none")
    if len(partners) > MAX_PARTNERS:  # the kernel holds partner sets as 64-bit masks
        r.add(f"scenario.actors: at most {MAX_PARTNERS} partners, got {len(partners)}")
    r.capability("scenario.aggressor.capability", agg.capability)
    r.capability("scenario.target.capability", tgt.capability)
    for key in AGGRESSOR_BELIEFS:
        r.belief(f"scenario.aggressor.{key}", agg[key], zero_ok=key == "cost")
    r.delay("scenario.aggressor.fait_accompli", agg.fait_accompli)
    r.positive("scenario.contest.exponent", sc.contest.exponent)
    r.closed_prob("scenario.late_discount", sc.late_discount)
    r.positive("scenario.horizon.years", sc.horizon.years)
    r.belief("scenario.horizon.opportunities_per_year", sc.horizon.opportunities_per_year)
    for name, at in sc.attack_types.items():
        base = f"scenario.attack_types.{name}"
        r.closed_prob(f"{base}.probability", at.probability)
        for key in AGGRESSOR_BELIEFS:
            if own_belief(at, key) is not None:
                r.belief(f"{base}.{key}", at[key], zero_ok=key == "cost")


def _attack_type_sum_rule(r: _Rules, sc: Any) -> None:
    if sc.attack_types and not sc.aggressor.choose_type:
        total = sum(float(at.probability) for at in sc.attack_types.values())
        if abs(total - 1.0) > 1e-9:
            r.add(
                f"scenario.attack_types: probabilities must sum to 1 "
                f"(or set scenario.aggressor.choose_type=true), got {total:.6g}"
            )


def _actor_rules(r: _Rules, sc: Any) -> None:
    """Each partner's beliefs and links, and the dependency graph having no cycle."""
    factors = set(sc.factors.keys())
    partners = set(sc.actors.keys())
    types = attack_type_names(sc)
    edges: dict[str, list[str]] = {}
    for code, p in sc.actors.items():
        base = f"scenario.actors.{code}"
        r.willingness(f"{base}.willingness", p.willingness)
        r.capability(f"{base}.capability", p.capability)
        _loading_rules(r, base, p.loadings, factors)
        r.non_negative(f"{base}.perceived.noise", p.perceived.noise)
        r.finite(f"{base}.perceived.bias", p.perceived.bias)
        r.finite(f"{base}.engaged.willingness_shift", p.engaged.willingness_shift)
        r.finite(f"{base}.willingness.calibrated_shift", p.willingness.calibrated_shift)
        for key in ("type_willingness", "attribution"):
            for t, v in p[key].items():
                if t not in types:
                    r.add(f"{base}.{key}.{t}: unknown attack type '{t}' (types: {types})")
                if key == "attribution":
                    r.closed_prob(f"{base}.{key}.{t}", v)
                else:
                    r.positive(f"{base}.{key}.{t}", v)
        for other in p.requires:
            r.partner(f"{base}.requires", other, partners, code)
        for other, v in p.follows.items():
            r.partner(f"{base}.follows.{other}", other, partners, code)
            r.finite(f"{base}.follows.{other}", v)
        for key in ("allies", "access"):
            for other, v in p[key].items():
                r.partner(f"{base}.{key}.{other}", other, partners, code)
                r.closed_prob(f"{base}.{key}.{other}", v)
        r.non_negative(f"{base}.buck_passing", p.buck_passing)
        r.delay(f"{base}.delay", p.delay)
        r.closed_prob(f"{base}.engaged.probability", p.engaged.probability)
        r.closed_prob(f"{base}.engaged.capability_factor", p.engaged.capability_factor)
        r.non_negative(f"{base}.cost_to_aggressor", p.cost_to_aggressor)
        # a partner naming itself is reported above, not again as a cycle
        linked = dict.fromkeys([*p.requires, *p.follows.keys()])  # once each: one message a cycle
        edges[code] = [o for o in linked if o in partners and o != code]
    for cycle in dependency_cycles(edges):
        r.add("scenario.actors: requires/follows dependencies form a cycle: " + " -> ".join(cycle))


def _loading_rules(r: _Rules, base: str, loadings: Any, factors: set[str]) -> None:
    ss = 0.0
    for f, v in loadings.items():
        if f not in factors:
            r.add(
                f"{base}.loadings.{f}: unknown factor '{f}' "
                f"(declared factors: {sorted(factors) or 'none'})"
            )
        if not -1.0 <= float(v) <= 1.0:
            r.add(f"{base}.loadings.{f} must lie in [-1, 1], got {v}")
        ss += float(v) ** 2
    if ss > 1.0 + 1e-12:
        r.add(
            f"{base}.loadings: squared loadings sum to {ss:.3g} > 1, "
            "which is not a valid correlation"
        )


def _institution_rules(r: _Rules, sc: Any) -> None:
    partners = set(sc.actors.keys())
    for name, inst in sc.institutions.items():
        base = f"scenario.institutions.{name}"
        members = list(inst.members)
        rule = getattr(inst.rule, "value", inst.rule)
        if not members:
            r.add(f"{base}.members must name at least one state, got none")
        votes = rule != "individual"  # under individual, members decide alone: nobody votes
        for m in members:
            if votes and m not in partners and m != sc.aggressor.code and m not in inst.vote:
                r.add(
                    f"{base}.members: '{m}' is neither a partner nor the aggressor, so "
                    f"{base}.vote.{m} must give its P(yes)"
                )
        for m, v in inst.vote.items():
            if m not in members:
                r.add(f"{base}.vote.{m}: '{m}' is not a member of {name}")
            r.closed_prob(f"{base}.vote.{m}", v)
        for m in inst.veto:
            if m not in members:
                r.add(f"{base}.veto: '{m}' is not a member of {name}")
        if rule in ("qualified_majority", "veto") and not 1 <= int(inst.k) <= len(members):
            r.add(f"{base}.k must lie in [1, {len(members)}] for rule {rule}, got {inst.k}")
        if rule == "veto" and not inst.veto:
            r.add(f"{base}.veto must name the veto holders for rule veto, got none")
        r.closed_prob(f"{base}.abstain", inst.abstain)
        r.closed_prob(f"{base}.vote_correlation", inst.vote_correlation)
        r.finite(f"{base}.mandate_shift", inst.mandate_shift)
        r.finite(f"{base}.no_mandate_shift", inst.no_mandate_shift)


KINDS = ("access", "arms", "sanctions")  # kinds of help besides troops (docs/war.md)
# beliefs whose missing mean turns their mechanism off
OPTIONAL_BELIEFS = (
    "scenario.target.resolve.probability.mean",
    "scenario.escalation.probability.mean",
)


def is_set(belief: Any) -> bool:
    """Whether an optional willingness belief (the target's resolve, escalation) is given."""
    return elicitation.is_elicited(belief) or not OmegaConf.is_missing(belief, "mean")


def phases_of(sc: Any, attack_type: str | None = None) -> list[Any]:
    """The phases of an attack type (its own, else ``war.phases``); [] is the single phase."""
    at = sc.attack_types.get(attack_type) if attack_type else None
    if at is not None and at.phases is not None:
        return list(at.phases)
    return list(sc.war.phases)


def _phase_rules(r: _Rules, path: str, phases: Any) -> None:
    names = [p.name for p in phases]
    if len(set(names)) < len(names):
        r.add(f"{path}: phase names must differ, got {names}")
    for k, ph in enumerate(phases):
        base = f"{path}[{k}]"
        if k == 0 and ph.duration is not None:
            r.add(
                f"{base}.duration: the first phase lasts the fait-accompli time "
                f"(scenario.aggressor.fait_accompli), got {ph.duration}"
            )
        if k > 0:
            r.positive(f"{base}.duration", ph.duration)


def _war_rules(r: _Rules, sc: Any) -> None:
    """Phases, attrition, the target's resolve, escalation, kinds of help, per-type balance."""
    if not (0.0 <= float(sc.war.attrition) < 1.0):
        r.add(f"scenario.war.attrition must lie in [0, 1), got {sc.war.attrition}")
    _phase_rules(r, "scenario.war.phases", sc.war.phases)
    longest = max(len(phases_of(sc, t)) for t in attack_type_names(sc)) or 1
    for name, at in sc.attack_types.items():
        base = f"scenario.attack_types.{name}"
        if at.phases is not None:
            if not len(at.phases):
                r.add(f"{base}.phases: give at least one phase, or null for war.phases, got []")
            _phase_rules(r, f"{base}.phases", at.phases)
        if at.exponent is not None:
            r.positive(f"{base}.exponent", at.exponent)
        if is_set(at.capability):
            r.capability(f"{base}.capability", at.capability)
    res = sc.target.resolve
    if is_set(res.probability):
        r.willingness("scenario.target.resolve.probability", res.probability)
    r.finite("scenario.target.resolve.balance_slope", res.balance_slope)
    esc = sc.escalation
    if is_set(esc.probability):
        r.willingness("scenario.escalation.probability", esc.probability)
    r.finite("scenario.escalation.willingness_shift", esc.willingness_shift)
    for code, p in sc.actors.items():
        for kind, h in p.contributions.items():
            base = f"scenario.actors.{code}.contributions.{kind}"
            if kind not in KINDS:
                r.add(f"{base}: unknown kind of help '{kind}' (kinds: {list(KINDS)}; troops are "
                      f"the partner's willingness)")  # fmt: skip
                continue
            r.willingness(f"{base}.willingness", h.willingness)
            r.closed_prob(f"{base}.correlation", h.correlation)
            arms_amount = OmegaConf.select(h, "amount.mean")
            if kind == "arms":
                r.capability(f"{base}.amount", h.amount)
                if not 1 <= int(h.from_phase) <= longest:
                    r.add(f"{base}.from_phase must be a phase number in 1..{longest}, "
                          f"got {h.from_phase}")  # fmt: skip
            else:
                if arms_amount not in (None, 0.0):
                    r.add(f"{base}.amount is for arms only, got mean {arms_amount}")
                if int(h.from_phase) != 1:
                    r.add(f"{base}.from_phase is for arms only, got {h.from_phase}")
            if kind == "sanctions":
                r.non_negative(f"{base}.cost", h.cost)
            elif float(h.cost) != 0.0:
                r.add(f"{base}.cost is for sanctions only, got {h.cost}")


def _sampler_rules(r: _Rules, s: Any) -> None:
    for key in ("draws", "realizations", "block_size"):
        if not int(s[key]) >= 1:
            r.add(f"sampler.{key} must be >= 1, got {s[key]}")
    if s.threads is not None and not int(s.threads) >= 1:
        r.add(f"sampler.threads must be >= 1 (or null for all cores), got {s.threads}")
    if s.target_mcse is not None:
        if not 0 < float(s.target_mcse) <= 0.5:
            r.add(f"sampler.target_mcse must lie in (0, 0.5], got {s.target_mcse}")
        if not int(s.max_realizations) >= int(s.realizations):
            r.add(
                f"sampler.max_realizations must be >= sampler.realizations "
                f"({s.realizations}), got {s.max_realizations}"
            )
        if s.max_seconds is not None:
            r.positive("sampler.max_seconds", s.max_seconds)
    if not 0 <= int(s.seed) < 2**63:
        r.add(f"sampler.seed must be a non-negative integer, got {s.seed}")


def scenario_year(sc: Any) -> int | None:
    """The year a scenario describes: ``scenario.year``, else the year of
    ``scenario.backtest.crisis_date``, else None."""
    if sc.get("year") is not None:
        return int(sc.year)
    date = str(sc.backtest.crisis_date or "") if "backtest" in sc else ""
    return int(date[:4]) if date[:4].isdigit() else None


def _aggressor_source_rules(r: _Rules, cfg: Any) -> None:
    """beliefs.aggressor_source=calibrated: the posterior is named, the scenario has a year, and
    the crisis-rate belief it replaces states no spread (no silent override)."""
    if not aggressor_calibrated(cfg):
        return
    link = cfg.get("calibration")
    if link is None or link.get("deterrence_posterior") is None:
        r.add(
            "calibration.deterrence_posterior must name a posterior.nc written by "
            "forecast-calibrate calibration=deterrence when beliefs.aggressor_source=calibrated, "
            "got null"
        )
    sc = cfg.scenario
    if scenario_year(sc) is None:
        r.add(
            "scenario.year must give the year whose covariates the initiation posterior takes "
            "when beliefs.aggressor_source=calibrated, got null (and no "
            "scenario.backtest.crisis_date)"
        )
    rate = sc.horizon.opportunities_per_year
    if elicitation.is_elicited(rate) or float(rate.sd) > 0:
        stated = (
            "elicited quantiles"
            if elicitation.is_elicited(rate)
            else f"{{mean: {rate.mean}, sd: {rate.sd}}}"
        )
        r.add(
            f"scenario.horizon.opportunities_per_year = {stated} cannot take effect: "
            "beliefs.aggressor_source is calibrated, so each draw's crisis rate comes from "
            "calibration.deterrence_posterior; set scenario.horizon.opportunities_per_year.sd=0 "
            "(the rate is then replaced, as documented), or set beliefs.aggressor_source=config"
        )
