"""Hypothesis strategies for whole scenarios, valid or with deliberate faults (see test_fuzz.py).

:func:`scenarios` draws a :class:`Case`: a scenario tree (plain dicts, as a YAML file would hold
it) that is valid by construction, the overrides merged over it afterwards (as
``key=value`` on the command line would be), and the faults injected into either, each with the
config path and the value a message must name. A case without faults must run; a case with
faults must be rejected, with a message for each fault and no message about anything else.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

PARTNERS = (
    "USA JPN AUS GBR FRA DEU KOR PHL IND CAN ITA POL NLD TUR ESP NOR SWE FIN EST LVA LTU NZL SGP"
).split()
AGGRESSORS = ("CHN", "RUS", "PRK", "IRN")
TARGETS = ("TWN", "UKR", "KWT", "CSK")
OTHERS = ("BRA", "ZAF", "EGY")  # institution members that are neither partner nor aggressor
RULES = ("individual", "unanimity", "consensus", "qualified_majority", "veto")
COMMITMENTS = ("defense", "offense", "neutrality", "consultation", "ambiguous", "none")
TYPES = ("invasion", "blockade", "quarantine")
PHASE_NAMES = ("assault", "landing", "campaign", "siege", "reinforcement", "counteroffensive")
KINDS = ("access", "arms", "sanctions")  # kinds of help besides troops (docs/war.md)
NON_FINITE = (math.nan, math.inf, -math.inf)


# The stage that reports a fault: Hydra's type check of the file, the check of the overrides (a
# number for a belief, then an empty mapping), missing values, the domain rules. A stage runs only
# when the ones before it found nothing (the override checks may report together).
TYPED, NUMBER, EMPTY, MISSING, DOMAIN = 0, 1, 2, 3, 4


@dataclass
class Fault:
    """One deliberate mistake: a message must contain ``path`` and ``shown`` (the value); messages
    about paths under ``scope`` (default: ``path``; ``=path``: that path only) belong to it.
    ``claims``: the paths it changes, which no other fault of the case may touch."""

    path: str
    shown: str
    stage: int = DOMAIN
    scope: str = ""
    claims: tuple[str, ...] = ()
    kind: str = ""  # the FAULTS function that made it
    rule: str = ""  # phase_rule, help_rule: which of the war's rules (WAR_RULES)

    def __post_init__(self) -> None:
        self.scope = self.scope or self.path


@dataclass
class Case:
    tree: dict[str, Any]  # the scenario, as a file
    overrides: dict[str, Any] = field(default_factory=dict)  # merged over the run config
    faults: list[Fault] = field(default_factory=list)
    seed: int = 0

    @property
    def valid(self) -> bool:
        return not self.faults


# ----------------------------------------------------------------------------------------------
# Valid values
# ----------------------------------------------------------------------------------------------

prob = st.floats(0.02, 0.98)
unit = st.floats(0.0, 1.0)
shift = st.floats(-2.0, 2.0)


@st.composite
def belief(draw, lo: float = 0.05, hi: float = 20.0, zero: bool = False) -> dict:
    """A log-normal belief {mean, sd} (with ``zero``, sometimes a known 0)."""
    if zero and draw(st.booleans()) and draw(st.booleans()):
        return {"mean": 0.0, "sd": 0.0}
    mean = draw(st.floats(lo, hi))
    sd = draw(st.sampled_from([0.0, 0.0, mean * draw(st.floats(0.01, 2.0))]))
    return {"mean": mean, "sd": sd}


@st.composite
def willingness(draw) -> dict:
    w: dict[str, Any] = {"mean": draw(prob)}
    spread = draw(st.sampled_from(["none", "concentration", "interval"]))
    if spread == "concentration":
        w["concentration"] = draw(st.floats(0.5, 200.0))
    elif spread == "interval":
        lo = draw(st.floats(0.01, 0.9))
        w["interval"] = [lo, draw(st.floats(lo + 0.01, 0.99))]
    return w


@st.composite
def delay(draw) -> dict:
    if draw(st.booleans()):
        return {"mean": 0.0, "sd": 0.0, "spread": 0.0}
    mean = draw(st.floats(0.5, 60.0))
    return {"mean": mean, "sd": draw(st.floats(0.0, mean)), "spread": draw(st.floats(0.0, 1.0))}


def _maybe(draw, p_items, keys, value) -> dict:
    """A mapping over a random subset of ``keys``."""
    chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=p_items)) if keys else []
    return {k: draw(value) for k in chosen}


@st.composite
def partner(draw, code: str, earlier: list[str], others: list[str], types, factors) -> dict:
    """Partner ``code``; it may depend (requires, follows) only on ``earlier`` partners, so the
    dependency graph is acyclic; ``others`` are all the other partners."""
    p: dict[str, Any] = {
        "name": f"partner {code}",
        "commitment": draw(st.sampled_from(COMMITMENTS)),
        "willingness": draw(willingness()),
        "capability": draw(belief(0.1, 10.0)),
    }
    if factors and draw(st.booleans()):
        n = len(factors)
        p["loadings"] = {f: draw(st.floats(-1.0, 1.0)) / math.sqrt(n) * 0.99 for f in factors}
    if draw(st.booleans()):
        p["perceived"] = {"bias": draw(shift), "noise": draw(st.floats(0.0, 1.5))}
    if draw(st.booleans()):
        p["type_willingness"] = _maybe(draw, 2, types, st.floats(0.2, 2.0))
        p["attribution"] = _maybe(draw, 2, types, unit)
    if earlier and draw(st.booleans()):
        p["requires"] = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=2))
        follows = [c for c in earlier if c not in p["requires"]]
        p["follows"] = _maybe(draw, 2, follows, shift)
    if len(others) and draw(st.booleans()):
        p["buck_passing"] = draw(st.floats(0.0, 3.0))
    if draw(st.booleans()):
        p["delay"] = draw(delay())
    if draw(st.booleans()):
        p["engaged"] = {
            "probability": draw(st.floats(0.01, 1.0)),
            "capability_factor": draw(unit),
            "willingness_shift": draw(shift),
        }
    if draw(st.booleans()):
        p["allies"] = _maybe(draw, 2, others, unit)
        p["access"] = _maybe(draw, 2, others, unit)
    if draw(st.booleans()):
        p["cost_to_aggressor"] = draw(st.floats(0.0, 1.0))
    return p


@st.composite
def institution(draw, partners: list[str], aggressor: str) -> dict:
    pool = partners + [aggressor] + list(OTHERS)
    members = draw(st.lists(st.sampled_from(pool), unique=True, min_size=1, max_size=6))
    rule = draw(st.sampled_from(RULES))
    inst: dict[str, Any] = {"name": "an institution", "members": members, "rule": rule}
    if rule == "individual":
        return inst
    outsiders = [m for m in members if m not in partners and m != aggressor]
    voters = [m for m in members if m != aggressor]
    given = draw(st.lists(st.sampled_from(voters), unique=True)) if voters else []
    # in the listed order (a set's order changes with the interpreter's string hashing, and with
    # it every case Hypothesis draws after this one)
    inst["vote"] = {m: draw(unit) for m in dict.fromkeys([*outsiders, *given])}
    inst["mandate_shift"] = draw(shift)
    inst["no_mandate_shift"] = draw(shift)
    if any(m in partners for m in members) and draw(st.booleans()):
        inst["vote_correlation"] = draw(unit)  # of a partner's vote with its own resolve
    if rule in ("consensus", "veto"):
        inst["abstain"] = draw(unit)
    if rule in ("qualified_majority", "veto"):
        inst["k"] = draw(st.integers(1, len(members)))
    if rule == "veto":
        inst["veto"] = draw(st.lists(st.sampled_from(members), unique=True, min_size=1))
    return inst


@st.composite
def aggressor_part(draw, code: str, types: list[str]) -> tuple[dict, dict]:
    """The aggressor and the attack types (prize, cost, decision noise at either level)."""
    agg: dict[str, Any] = {"code": code, "name": "the aggressor", "capability": draw(belief())}
    choose = bool(types) and draw(st.booleans())
    agg["choose_type"] = choose
    attack_types: dict[str, Any] = {}
    weights = [draw(st.floats(0.05, 1.0)) for _ in types]
    for t, w in zip(types, weights, strict=True):
        at: dict[str, Any] = {"description": f"a {t}"}
        if not choose:
            at["probability"] = w / sum(weights)
        for key in ("prize", "cost", "decision_noise"):
            if draw(st.booleans()):
                at[key] = draw(belief(0.02, 3.0, zero=key == "cost"))
        attack_types[t] = at
    # the aggressor's own value, when some type uses it (else it could not take effect)
    for key in ("prize", "cost", "decision_noise"):
        if not types or any(key not in at for at in attack_types.values()):
            agg[key] = draw(belief(0.02, 3.0, zero=key == "cost"))
    if draw(st.booleans()):
        agg["fait_accompli"] = draw(delay())
    return agg, attack_types


@st.composite
def valid_scenario(draw) -> dict:
    codes = draw(st.lists(st.sampled_from(PARTNERS), unique=True, min_size=1, max_size=16))
    order = draw(st.permutations(codes))  # the dependency order, not the listing order
    aggressor = draw(st.sampled_from(AGGRESSORS))
    types = draw(st.lists(st.sampled_from(TYPES), unique=True, max_size=3))
    factors = draw(st.lists(st.sampled_from(["trade", "values", "threat"]), unique=True))
    agg, attack_types = draw(aggressor_part(aggressor, types))
    actors = {}
    for code in codes:
        earlier = list(order[: order.index(code)])
        others = [c for c in codes if c != code]
        actors[code] = draw(partner(code, earlier, others, types, factors))
    # a factor no partner loads on could not take effect: declare only the loaded ones
    loaded = [
        f for f in factors if any(a.get("loadings", {}).get(f, 0) != 0 for a in actors.values())
    ]
    tree: dict[str, Any] = {
        "name": "fuzz",
        "aggressor": agg,
        "target": {"code": draw(st.sampled_from(TARGETS)), "capability": draw(belief())},
        "actors": actors,
        "factors": {f: {"description": f} for f in loaded},
        "attack_types": attack_types,
        "contest": {"exponent": draw(st.floats(0.3, 4.0))},
        "horizon": {"years": draw(st.floats(0.1, 20.0)), "opportunities_per_year": draw(belief())},
    }
    for a in actors.values():
        for f in list(a.get("loadings", {})):
            if f not in loaded:
                del a["loadings"][f]
    if float(agg.get("fait_accompli", {}).get("mean", 0.0)) > 0 and draw(st.booleans()):
        tree["late_discount"] = draw(unit)
    n_inst = draw(st.integers(0, 3))
    tree["institutions"] = {f"inst{j}": draw(institution(codes, aggressor)) for j in range(n_inst)}
    # the war as a process in a third of the cases, drawn last so that the draws above (and so
    # the old mechanisms' distribution) are the same with or without it; chosen by the tree's
    # hash, since Hypothesis draws the simplest choice (0) far more often than a third
    if _hash(tree, "war") % 3 == 0:
        draw(war_process(tree))
    return tree


def _hash(obj: Any, salt: str) -> int:
    """A choice made from what was drawn, the same in every run, independent for each ``salt``
    (a choice Hypothesis drew itself would be its simplest far more often than not)."""
    return int.from_bytes(hashlib.sha256(f"{salt}{obj!r}".encode()).digest()[:8], "big")


@st.composite
def phase_list(draw) -> list[dict]:
    """1-4 phases: the first without a duration, each later one with one; a fait_accompli flag
    only before the last phase (the last phase decides the war whatever its flag)."""
    n = draw(st.integers(1, 4))
    names = draw(st.lists(st.sampled_from(PHASE_NAMES), unique=True, min_size=n, max_size=n))
    phases = []
    for k, name in enumerate(names):
        ph: dict[str, Any] = {"name": name}
        if k > 0:
            ph["duration"] = draw(st.floats(0.5, 400.0))
        if k < n - 1 and draw(st.booleans()):
            ph["fait_accompli"] = draw(st.booleans())
        phases.append(ph)
    return phases


def longest_war(tree: dict) -> int:
    """The most phases of any attack type (its own, else war.phases), at least 1."""
    shared = len(tree.get("war", {}).get("phases", []))
    types = tree["attack_types"].values()
    return max([len(at["phases"]) if "phases" in at else shared for at in types] or [shared]) or 1


@st.composite
def war_process(draw, tree: dict) -> None:
    """Add the war as a process (docs/war.md) to ``tree``: phases, attrition, the target's
    resolve, escalation, a balance per attack type and kinds of help. Every value it writes can
    take effect."""
    war: dict[str, Any] = {}
    if draw(st.booleans()):
        war["phases"] = draw(phase_list())
    types = tree["attack_types"]
    for at in types.values():
        if draw(st.integers(0, 3)) == 0:
            at["phases"] = draw(phase_list())
        if draw(st.integers(0, 2)) == 0:
            at["capability"] = draw(belief())
        if draw(st.integers(0, 2)) == 0:
            at["exponent"] = draw(st.floats(0.3, 4.0))
    if types and all("phases" in at for at in types.values()):
        war.pop("phases", None)  # every type has its own: war.phases could not take effect
    phased = [at.get("phases", war.get("phases", [])) for at in types.values()] or [
        war.get("phases", [])
    ]
    if any(len(ps) > 1 for ps in phased) and draw(st.booleans()):
        war["attrition"] = draw(st.sampled_from([0.0, draw(st.floats(0.0, 0.99))]))
    if war:
        tree["war"] = war
    if draw(st.booleans()):
        resolve: dict[str, Any] = {"probability": draw(willingness())}
        if draw(st.booleans()):
            resolve["balance_slope"] = draw(st.floats(-3.0, 3.0))
        tree["target"]["resolve"] = resolve
    if draw(st.booleans()):
        esc: dict[str, Any] = {"description": "a threshold", "probability": draw(willingness())}
        if draw(st.booleans()):
            esc["willingness_shift"] = draw(shift)
        tree["escalation"] = esc
    longest = longest_war(tree)
    for p in tree["actors"].values():
        if not draw(st.booleans()):
            continue
        help_: dict[str, Any] = {}
        for kind in draw(st.lists(st.sampled_from(KINDS), unique=True, min_size=1)):
            h: dict[str, Any] = {"willingness": draw(willingness())}
            if draw(st.booleans()):
                h["correlation"] = draw(st.sampled_from([0.0, 1.0, draw(unit)]))
            if kind == "arms":
                h["amount"] = draw(belief(0.05, 5.0))
                if draw(st.booleans()):
                    h["from_phase"] = draw(st.integers(1, longest))
            if kind == "sanctions" and draw(st.booleans()):
                h["cost"] = draw(st.sampled_from([0.0, draw(st.floats(0.0, 1.0))]))
            help_[kind] = h
        p["contributions"] = help_


# ----------------------------------------------------------------------------------------------
# Faults: each mutates a case and says what a message must name
# ----------------------------------------------------------------------------------------------

UNKNOWN = "ZZZ"  # a state code no scenario uses


def _node(tree: dict, parts: list[str]) -> Any:
    for p in parts:
        tree = tree[p]
    return tree


def _leaves(node: Any, prefix: str) -> list[tuple[str, Any]]:
    """(path, value) of every number in ``node``, lists excluded."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_leaves(v, f"{prefix}.{k}"))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out.append((prefix, node))
    return out


def _range(path: str) -> str:
    """The rule a number at ``path`` obeys: open01, closed01, pos, nonneg, pm1, int or free."""
    parts = path.split(".")
    last, parent = parts[-1], parts[-2]
    if parent in ("willingness", "probability") and last == "mean":  # probability: resolve, ...
        return "open01"
    if path == "scenario.war.attrition":
        return "attrition"
    if last == "from_phase":
        return "phase_no"
    if last in ("sd", "spread", "buck_passing", "cost_to_aggressor", "cost") or path.endswith(
        "perceived.noise"
    ):
        return "nonneg"
    if last == "mean":
        return "nonneg" if parent in ("cost", "delay", "fait_accompli") else "pos"
    if last in ("concentration", "exponent", "years") or parent == "type_willingness":
        return "pos"
    if parent in ("attribution", "access", "allies", "vote") or last in (
        "late_discount",
        "abstain",
        "vote_correlation",
        "probability",
        "capability_factor",
        "correlation",
    ):
        return "closed01"
    if parent == "loadings":
        return "pm1"
    return "int" if last == "k" else "free"


def _type_probability(path: str) -> bool:
    """An attack type's probability: a fault in it also breaks their sum's rule."""
    return path.startswith("scenario.attack_types.") and path.endswith(".probability")


_BAD = {
    "open01": lambda x: [0.0, 1.0, -x, 1.0 + x],
    "closed01": lambda x: [-x, 1.0 + x],
    "pos": lambda x: [0.0, -x],
    "nonneg": lambda x: [-x],
    "pm1": lambda x: [1.0 + x, -1.0 - x],
    "attrition": lambda x: [-x, 1.0, 1.0 + x],
}


def _set(case: Case, path: str, value: Any) -> None:
    """Set ``path`` (``scenario.`` in the tree, else in the overrides) to ``value``."""
    parts = path.split(".")
    root, parts = (case.tree, parts[1:]) if parts[0] == "scenario" else (case.overrides, parts)
    node = root
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def _shown(x: Any) -> str:
    return str(float(x)) if isinstance(x, float) else str(x)


def out_of_range(draw, case: Case) -> Fault | None:
    leaves = [(p, v) for p, v in _leaves(case.tree, "scenario") if _range(p) in _BAD]
    leaves += [(p, v) for p, v in _leaves(case.tree, "scenario") if _range(p) in INTEGERS]
    if not leaves:
        return None
    path, value = draw(st.sampled_from(leaves))
    kind = _range(path)
    parent = path.rsplit(".", 1)[0]
    if kind == "int":  # an institution's k
        n = len(_node(case.tree, parent.split(".")[1:])["members"])
        bad = draw(st.sampled_from([0, n + 1]))
    elif kind == "phase_no":  # arms from a phase
        bad = draw(st.sampled_from([0, longest_war(case.tree) + 1]))
    else:
        bad = draw(st.sampled_from(_BAD[kind](draw(st.floats(0.01, 10.0)))))
    scope = "scenario.attack_types" if _type_probability(path) else parent
    if path.split(".")[-2] in ("loadings", "attribution", "access", "allies", "vote"):
        scope = parent
    _set(case, path, bad)
    return Fault(path, _shown(bad), scope=scope, claims=(parent,))


INTEGERS = ("int", "phase_no")


def non_finite(draw, case: Case) -> Fault | None:
    leaves = [(p, v) for p, v in _leaves(case.tree, "scenario") if _range(p) not in INTEGERS]
    if not leaves:
        return None
    path, _ = draw(st.sampled_from(leaves))
    bad = draw(st.sampled_from(NON_FINITE))
    parent = path.rsplit(".", 1)[0]
    scope = "scenario.attack_types" if _type_probability(path) else parent
    _set(case, path, bad)
    return Fault(path, _shown(bad), scope=scope, claims=(parent,))


def _partner_codes(case: Case) -> list[str]:
    return list(case.tree["actors"])


def wrong_type(draw, case: Case) -> Fault | None:
    options = [(p, "abc") for p, _ in _leaves(case.tree, "scenario") if _range(p) != "int"]
    options += [(f"scenario.actors.{c}.commitment", "sometimes") for c in _partner_codes(case)]
    options += [(f"scenario.institutions.{i}.rule", "sometimes") for i in case.tree["institutions"]]
    options += [("scenario.aggressor.choose_type", "maybe")]
    path, bad = draw(st.sampled_from(options))
    _set(case, path, bad)
    return Fault(path, bad, stage=TYPED, claims=(path.rsplit(".", 1)[0],))


def belief_as_number(draw, case: Case) -> Fault | None:
    options = ["scenario.aggressor.capability", "scenario.target.capability"]
    options += [f"scenario.actors.{c}.capability" for c in _partner_codes(case)]
    options += [f"scenario.attack_types.{t}.capability" for t in case.tree["attack_types"]]
    for c, p in case.tree["actors"].items():
        if "arms" in p.get("contributions", {}):
            options.append(f"scenario.actors.{c}.contributions.arms.amount")
    path = draw(st.sampled_from(options))
    value = draw(st.floats(0.1, 5.0))
    _set(case, path, value)
    return Fault(path, _shown(value), stage=TYPED, claims=(path,))


def unknown_key(draw, case: Case) -> Fault | None:
    nodes = ["scenario", "scenario.aggressor", "scenario.target", "scenario.horizon"]
    nodes += ["scenario.war", "scenario.target.resolve", "scenario.escalation"]
    for c in _partner_codes(case):
        nodes += [f"scenario.actors.{c}", f"scenario.actors.{c}.willingness"]
        for kind in case.tree["actors"][c].get("contributions", {}):
            nodes.append(f"scenario.actors.{c}.contributions.{kind}")
    nodes += [f"scenario.institutions.{i}" for i in case.tree["institutions"]]
    nodes += [f"scenario.attack_types.{t}" for t in case.tree["attack_types"]]
    node = draw(st.sampled_from(nodes))
    path = f"{node}.colour"
    _set(case, path, 1.0)
    return Fault(path, "colour", stage=TYPED, claims=(path,))


def unknown_reference(draw, case: Case) -> Fault | None:
    """A partner, attack type, factor or member that does not exist."""
    sc = case.tree
    options = []
    for c in sc["actors"]:
        base = f"scenario.actors.{c}"
        options += [(f"{base}.requires", "list", UNKNOWN), (f"{base}.requires", "list", c)]
        options += [(f"{base}.{k}.{UNKNOWN}", "map", UNKNOWN) for k in ("follows", "allies")]
        options += [(f"{base}.access.{UNKNOWN}", "map", UNKNOWN)]
        options += [(f"{base}.attribution.ZZT", "map", "ZZT")]
        options += [(f"{base}.loadings.zzf", "map", "zzf")]
    for name, inst in sc["institutions"].items():
        base = f"scenario.institutions.{name}"
        if inst["rule"] != "individual":
            # under rule individual nobody votes, so a member that is no partner is valid
            # (the regression case outsider_member_individual_rule)
            options += [(f"{base}.members", "list", UNKNOWN)]
        if inst["rule"] == "veto":
            options += [(f"{base}.veto", "list", UNKNOWN)]
        if inst["rule"] != "individual":
            options += [(f"{base}.vote.{UNKNOWN}", "map", UNKNOWN)]
    if not options:
        return None
    path, how, name = draw(st.sampled_from(options))
    if how == "list":
        node = _node(sc, path.split(".")[1:-1])
        node.setdefault(path.rsplit(".", 1)[1], [])
        if name in node[path.rsplit(".", 1)[1]]:
            return None
        node[path.rsplit(".", 1)[1]].append(name)
        claim = path
    else:
        _set(case, path, 0.0 if ".loadings." in path else 0.5)
        claim = path.rsplit(".", 1)[0]
    return Fault(path, name, claims=(claim,))


def cycle(draw, case: Case) -> Fault | None:
    codes = _partner_codes(case)
    if len(codes) < 2:
        return None
    x, y = draw(st.permutations(codes))[:2]
    px, py = case.tree["actors"][x], case.tree["actors"][y]
    if y not in px.get("requires", []):
        px.setdefault("requires", []).append(y)
    px.get("follows", {}).pop(y, None)
    if x not in py.get("requires", []):
        py.setdefault("follows", {})[x] = draw(shift)
    base = "scenario.actors"
    claims = (f"{base}.{x}.requires", f"{base}.{x}.follows", f"{base}.{y}.follows")
    return Fault(base, x, scope="=scenario.actors", claims=claims)


def partner_is_target(draw, case: Case) -> Fault | None:
    code = case.tree["target"]["code"]
    case.tree["actors"][code] = {"willingness": {"mean": 0.5}, "capability": {"mean": 1.0}}
    return Fault(f"scenario.actors.{code}", code, claims=(f"scenario.actors.{code}",))


def missing(draw, case: Case) -> Fault | None:
    options = ["scenario.aggressor.code", "scenario.target.code", "scenario.name"]
    for c in case.tree["actors"]:
        options += [f"scenario.actors.{c}.willingness.mean", f"scenario.actors.{c}.capability.mean"]
        for kind in case.tree["actors"][c].get("contributions", {}):
            options.append(f"scenario.actors.{c}.contributions.{kind}.willingness.mean")
    for base, phases in _phase_lists(case.tree):
        options += [f"{base}[{k}].name" for k in range(len(phases))]
    path = draw(st.sampled_from(options))
    if "[" in path:  # a phase's name: messages name the list (the path stops at the index)
        base, k = path.split("[")[0], int(path.split("[")[1].split("]")[0])
        del _node(case.tree, base.split(".")[1:])[k]["name"]
        return Fault(path, "???", stage=MISSING, scope=base, claims=(base,))
    parts = path.split(".")[1:]
    del _node(case.tree, parts[:-1])[parts[-1]]
    return Fault(path, "???", stage=MISSING, claims=(path,))


def _phase_lists(tree: dict) -> list[tuple[str, list]]:
    """(path, phases) of every phase list of the scenario."""
    shared = tree.get("war", {}).get("phases")
    out = [("scenario.war.phases", shared)] if shared is not None else []
    for t, at in tree["attack_types"].items():
        if "phases" in at:
            out.append((f"scenario.attack_types.{t}.phases", at["phases"]))
    return out


def empty(draw, case: Case) -> Fault | None:
    options = ["actors"] + [f"institutions.{i}.members" for i in case.tree["institutions"]]
    where = draw(st.sampled_from(options))
    if where == "actors":
        case.tree["actors"] = {}
        case.tree.pop("factors", None)
        case.tree["institutions"] = {}
        return Fault("scenario.actors", "none", scope="scenario", claims=("scenario",))
    inst = case.tree["institutions"][where.split(".")[1]]
    inst["members"] = []
    base = f"scenario.{where.rsplit('.', 1)[0]}"
    return Fault(f"scenario.{where}", "none", scope=base, claims=(base,))


def empty_override(draw, case: Case) -> Fault | None:
    """``path={}`` over a non-empty mapping: it would clear nothing."""
    options = []
    for c, p in case.tree["actors"].items():
        for key in (
            "access",
            "allies",
            "follows",
            "loadings",
            "attribution",
            "type_willingness",
            "contributions",
        ):
            if p.get(key):
                options.append(f"scenario.actors.{c}.{key}")
    for name, inst in case.tree["institutions"].items():
        if inst.get("vote"):
            options.append(f"scenario.institutions.{name}.vote")
    for key in ("attack_types", "institutions", "factors"):
        if case.tree.get(key):
            options.append(f"scenario.{key}")
    if not options:
        return None
    path = draw(st.sampled_from(options))
    node = case.overrides
    for p in path.split(".")[:-1]:
        node = node.setdefault(p, {})
    node[path.rsplit(".", 1)[1]] = {}
    return Fault(path, f"~{path}", stage=EMPTY, claims=(path,))


def number_override(draw, case: Case) -> Fault | None:
    options = ["scenario.aggressor.prize", "scenario.horizon.opportunities_per_year"]
    options += [f"scenario.actors.{c}.capability" for c in _partner_codes(case)]
    path = draw(st.sampled_from(options))
    value = draw(st.floats(0.1, 5.0))
    node = case.overrides
    for p in path.split(".")[:-1]:
        node = node.setdefault(p, {})
    node[path.rsplit(".", 1)[1]] = value
    return Fault(path, _shown(value), stage=NUMBER, claims=(path,))


def silent(draw, case: Case) -> Fault | None:
    """A value that cannot take effect."""
    sc = case.tree
    codes = _partner_codes(case)
    options = [f"engaged:{c}" for c in codes if "engaged" not in sc["actors"][c]]
    options += [f"shift:{c}" for c in codes]
    if len(codes) == 1:
        options.append(f"buck:{codes[0]}")
    if float(sc["aggressor"].get("fait_accompli", {}).get("mean", 0.0)) == 0:
        options.append("late")
    options += [f"inst:{i}" for i, inst in sc["institutions"].items() if inst["rule"] != "veto"]
    options.append("factor")
    if sc["aggressor"]["choose_type"]:
        options += [f"probability:{t}" for t in sc["attack_types"]]
    options += [f"sd:{t}" for t, at in sc["attack_types"].items() if "prize" not in at]
    if longest_war(sc) == 1:
        options.append("attrition")
    if sc["attack_types"] and all("phases" in at for at in sc["attack_types"].values()):
        options.append("war_phases")
    options += [f"off:{key}" for key in ("resolve", "escalation") if not _war_part(sc, key)]
    what, _, who = draw(st.sampled_from(options)).partition(":")
    value = draw(st.floats(0.05, 0.95).filter(lambda v: v != 0.5))  # 0.5: a default
    if what == "engaged":
        path = f"scenario.actors.{who}.engaged.capability_factor"
        _set(case, f"scenario.actors.{who}.engaged.probability", 0.0)
    elif what == "shift":
        path = f"scenario.actors.{who}.willingness.calibrated_shift"
    elif what == "buck":
        path = f"scenario.actors.{who}.buck_passing"
    elif what == "late":
        path = "scenario.late_discount"
    elif what == "inst":
        rule = sc["institutions"][who]["rule"]
        key = {"individual": "mandate_shift", "consensus": "k"}.get(rule, "abstain")
        value = 1 if key == "k" else value
        path = f"scenario.institutions.{who}.{key}"
    elif what == "factor":
        path, value = "scenario.factors.unused", None
        sc.setdefault("factors", {})["unused"] = {"description": "no partner loads on it"}
        return Fault(path, "unused", claims=(path,))
    elif what == "probability":
        path = f"scenario.attack_types.{who}.probability"
    elif what == "attrition":
        path = "scenario.war.attrition"
    elif what == "war_phases":
        path = "scenario.war.phases"
        sc.setdefault("war", {})["phases"] = [{"name": "assault"}]
        return Fault(path, "['assault']", scope=path, claims=(path,))
    elif what == "off":
        key = {"resolve": "balance_slope", "escalation": "willingness_shift"}[who]
        path = f"scenario.{'target.' if who == 'resolve' else ''}{who}.{key}"
    else:
        path = f"scenario.attack_types.{who}.prize.sd"
    _set(case, path, value)
    return Fault(path, _shown(value), claims=(path.rsplit(".", 1)[0],))


# the rules of the war as a process (forecast.config.rules._war_rules) that phase_rule and
# help_rule break
PHASE_RULES = (
    "attrition",
    "no_duration",
    "bad_duration",
    "first_duration",
    "duplicate_name",
    "no_type_phases",
    "exponent",
    "probability",
)
HELP_RULES = (
    "unknown_kind",
    "correlation",
    "from_phase",
    "amount_not_arms",
    "from_phase_not_arms",
    "cost_not_sanctions",
    "no_arms_amount",
)
WAR_RULES = PHASE_RULES + HELP_RULES


def _some_phases(draw, case: Case) -> tuple[str, list] | None:
    """A phase list with at least two phases: one of the case's, else war.phases made so."""
    lists = [(b, ps) for b, ps in _phase_lists(case.tree) if len(ps) >= 2]
    if lists:
        return draw(st.sampled_from(lists))
    helps = [h for a in case.tree["actors"].values() for h in a.get("contributions", {}).values()]
    if any("from_phase" in h for h in helps) or case.tree.get("war", {}).get("attrition"):
        return None  # a second phase could make a bad from_phase or a silent attrition valid
    second = {"name": "second", "duration": draw(st.floats(1.0, 90.0))}  # a name no list has
    lists = [(b, ps) for b, ps in _phase_lists(case.tree) if ps]
    if lists:
        base, phases = draw(st.sampled_from(lists))
        phases.append(second)
        return base, phases
    if any("phases" in at for at in case.tree["attack_types"].values()):
        return None  # every list is empty: a type's phases []
    case.tree.setdefault("war", {})["phases"] = [{"name": "assault"}, second]
    return "scenario.war.phases", case.tree["war"]["phases"]


def _help(draw, case: Case, kind: str) -> tuple[str, dict]:
    """(path, mapping) of a partner's help of ``kind``, added (valid) if it gives none."""
    code = draw(st.sampled_from(_partner_codes(case)))
    given = case.tree["actors"][code].setdefault("contributions", {})
    if kind not in given:
        given[kind] = {"willingness": draw(willingness())}
        if kind == "arms":
            given[kind]["amount"] = draw(belief(0.05, 5.0))
    return f"scenario.actors.{code}.contributions.{kind}", given[kind]


def _one_of(draw, case: Case, rules: tuple[str, ...]) -> Fault | None:
    """A fault against one of ``rules``: the first, from one chosen uniformly over cases, that
    the case allows. (Hypothesis draws the first of a list far more often than the others, and
    each of these rules is worth as much as the others.)"""
    import copy

    start = _hash((case.tree, case.overrides), "rule")
    for i in range(len(rules)):
        trial = copy.deepcopy(case)
        found = _war_rule(draw, trial, rules[(start + i) % len(rules)])
        if found is not None:
            case.tree, case.overrides = trial.tree, trial.overrides
            return found
    return None


def phase_rule(draw, case: Case) -> Fault | None:
    """A fault against a rule of the war's phases, attrition or a type's balance (docs/war.md)."""
    return _one_of(draw, case, PHASE_RULES)


def help_rule(draw, case: Case) -> Fault | None:
    """A fault against a rule of the kinds of help (docs/war.md)."""
    return _one_of(draw, case, HELP_RULES)


def _war_rule(draw, case: Case, rule: str) -> Fault | None:
    sc = case.tree
    if rule == "attrition":
        bad = draw(st.sampled_from(_BAD["attrition"](draw(st.floats(0.01, 10.0)))))
        if len(_phase_lists(sc)) == 0:
            _some_phases(draw, case)  # so that the attrition would take effect
        _set(case, "scenario.war.attrition", bad)
        return Fault("scenario.war.attrition", _shown(bad), claims=("scenario.war",), rule=rule)
    if rule in ("no_duration", "bad_duration", "first_duration", "duplicate_name"):
        found = _some_phases(draw, case)
        if found is None:
            return None
        base, phases = found
        k = draw(st.integers(1, len(phases) - 1))
        if rule == "no_duration":
            del phases[k]["duration"]
            path, shown = f"{base}[{k}].duration", "None"
        elif rule == "bad_duration":
            phases[k]["duration"] = bad = draw(st.sampled_from([0.0, -draw(st.floats(0.01, 9.0))]))
            path, shown = f"{base}[{k}].duration", _shown(bad)
        elif rule == "first_duration":
            phases[0]["duration"] = bad = draw(st.floats(0.5, 90.0))
            path, shown = f"{base}[0].duration", _shown(bad)
        else:
            phases[k]["name"] = phases[0]["name"]
            path, shown = base, phases[0]["name"]
        return Fault(path, shown, scope=base, claims=(base,), rule=rule)
    if rule == "no_type_phases":
        if not sc["attack_types"]:
            return None
        t = draw(st.sampled_from(list(sc["attack_types"])))
        if "phases" in sc.get("war", {}) or sc.get("war", {}).get("attrition"):
            return None  # either could then no longer take effect: a second message
        sc["attack_types"][t]["phases"] = []
        phased = [h.get("from_phase", 1) for a in sc["actors"].values()
                  for h in a.get("contributions", {}).values()]  # fmt: skip
        if max(phased, default=1) > longest_war(sc):  # it would put an arms phase out of range
            return None
        base = f"scenario.attack_types.{t}.phases"
        arms = [f"scenario.actors.{c}.contributions.arms" for c in _partner_codes(case)]
        return Fault(base, "[]", claims=(base, *arms), rule=rule)
    if rule == "probability":  # the target's resolve or escalation, added if not given
        key = draw(st.sampled_from(["target.resolve", "escalation"]))
        path = f"scenario.{key}.probability.mean"
        bad = draw(st.sampled_from(_BAD["open01"](draw(st.floats(0.01, 10.0)))))
        _set(case, path, bad)
        return Fault(path, _shown(bad), scope=path.rsplit(".", 1)[0], claims=(path,), rule=rule)
    if rule == "exponent":
        if not sc["attack_types"]:
            return None
        path = f"scenario.attack_types.{draw(st.sampled_from(list(sc['attack_types'])))}.exponent"
        bad = draw(st.sampled_from([0.0, -draw(st.floats(0.01, 5.0))]))
        _set(case, path, bad)
        return Fault(path, _shown(bad), claims=(path,), rule=rule)
    if rule == "unknown_kind":
        code = draw(st.sampled_from(_partner_codes(case)))
        kind = draw(st.sampled_from(["troops", "loans"]))
        path = f"scenario.actors.{code}.contributions.{kind}"
        _set(case, path, {"willingness": draw(willingness())})
        return Fault(path, kind, claims=(path,), rule=rule)
    kind = {"from_phase": "arms", "no_arms_amount": "arms", "correlation": None}.get(rule)
    kind = kind or draw(st.sampled_from([k for k in KINDS if k not in rule]))
    base, h = _help(draw, case, kind)
    if rule == "correlation":
        path, bad = f"{base}.correlation", draw(st.sampled_from(_BAD["closed01"](0.5)))
    elif rule == "from_phase":
        path, bad = f"{base}.from_phase", draw(st.sampled_from([0, longest_war(sc) + 1]))
    elif rule == "no_arms_amount":
        h.pop("amount")
        return Fault(f"{base}.amount.mean", "0.0", scope=base, claims=(base,), rule=rule)
    elif rule == "amount_not_arms":
        path, bad = f"{base}.amount", {"mean": draw(st.floats(0.05, 5.0)), "sd": 0.0}
    elif rule == "from_phase_not_arms":
        path, bad = f"{base}.from_phase", draw(st.integers(2, 4))
    else:
        path, bad = f"{base}.cost", draw(st.floats(0.01, 1.0))
    _set(case, path, bad)
    shown = _shown(bad["mean"]) if isinstance(bad, dict) else _shown(bad)
    return Fault(path, shown, scope=base, claims=(base,), rule=rule)


def _war_part(tree: dict, key: str) -> dict:
    """The scenario's target resolve or escalation ({} if not given)."""
    return tree["target"].get("resolve", {}) if key == "resolve" else tree.get("escalation", {})


def sampler_fault(draw, case: Case) -> Fault | None:
    key, bad = draw(st.sampled_from([("draws", 0), ("block_size", 0), ("seed", -1)]))
    case.overrides.setdefault("sampler", {})[key] = bad
    return Fault(f"sampler.{key}", str(bad), claims=(f"sampler.{key}",))


FAULTS = (
    out_of_range,
    non_finite,
    wrong_type,
    belief_as_number,
    unknown_key,
    unknown_reference,
    cycle,
    partner_is_target,
    missing,
    empty,
    empty_override,
    number_override,
    silent,
    sampler_fault,
    phase_rule,
    help_rule,
)


def uses_war(tree: dict) -> bool:
    """A scenario that sets any part of the war as a process."""
    own = ("capability", "exponent", "phases")
    return bool(
        tree.get("war")
        or "resolve" in tree["target"]
        or "escalation" in tree
        or any(a.get("contributions") for a in tree["actors"].values())
        or any(k in at for at in tree["attack_types"].values() for k in own)
    )


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


@st.composite
def scenarios(draw) -> Case:
    """A case: valid (about 40%) or with one to three faults on separate paths."""
    import copy

    case = Case(tree=draw(valid_scenario()), seed=draw(st.integers(0, 2**32 - 1)))
    n = draw(st.sampled_from([0, 0, 1, 1, 1, 2, 3]))
    faults = draw(st.lists(st.sampled_from(FAULTS), min_size=n, max_size=n))
    if faults and uses_war(case.tree):  # its first fault against the war's own rules
        faults[0] = (phase_rule, help_rule)[_hash(case.tree, "kind") % 2]
    for fault in faults:
        trial = copy.deepcopy(case)
        try:
            found = fault(draw, trial)
        except (TypeError, KeyError):  # an earlier fault replaced the node it changes
            continue
        if found is None:
            continue
        found.kind = fault.__name__
        taken = [c for f in case.faults for c in f.claims]
        if any(_overlaps(c, t) for c in found.claims for t in taken):
            continue
        trial.faults.append(found)
        case = trial
    return case
