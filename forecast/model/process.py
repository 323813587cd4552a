"""The war as a process (docs/war.md), from a validated scenario to arrays: its epistemic
parameters, its draw-independent arrays and each draw's :class:`forecast.model.inputs.War`.

Shapes: T attack types, P partners, K the most phases of any type. Kinds of help are
:data:`forecast.config.rules.KINDS`, in the order of the kernel's ``HELP_*`` codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from forecast.config.rules import KINDS, is_set, phases_of

_EPS = 1e-9


def parameters(sc: Any, codes: tuple[str, ...], types: tuple[str, ...], make: Any) -> list:
    """The process's epistemic parameters, as (group, [Parameter]) pairs; ``make(name, path,
    belief, kind)`` builds one (kind ``willingness`` or ``positive``). Only what a scenario sets
    is a parameter, so a scenario without the process draws exactly what it drew before."""
    actors = sc.actors
    groups = []
    helpers = []
    for kind in KINDS:
        for c in codes:
            h = actors[c].contributions.get(kind)
            if h is not None:
                path = f"scenario.actors.{c}.contributions.{kind}.willingness"
                helpers.append(make(f"{kind}[{c}]", path, h.willingness, "willingness"))
    groups.append(("help", helpers))
    amounts = []
    for c in codes:
        h = actors[c].contributions.get("arms")
        if h is not None:
            path = f"scenario.actors.{c}.contributions.arms.amount"
            amounts.append(make(f"arms_amount[{c}]", path, h.amount, "positive"))
    groups.append(("arms_amount", amounts))
    res = sc.target.resolve.probability
    groups.append(
        (
            "resolve",
            [make(f"resolve[{sc.target.code}]", "scenario.target.resolve.probability", res,
                  "willingness")] if is_set(res) else [],
        )
    )  # fmt: skip
    esc = sc.escalation.probability
    groups.append(
        (
            "escalation",
            [make("escalation", "scenario.escalation.probability", esc, "willingness")]
            if is_set(esc)
            else [],
        )
    )
    caps = []
    for t in types:
        at = sc.attack_types.get(t)
        if at is not None and is_set(at.capability):
            path = f"scenario.attack_types.{t}.capability"
            caps.append(make(f"capability[{sc.aggressor.code}/{t}]", path, at.capability,
                             "positive"))  # fmt: skip
    groups.append(("capability_type", caps))
    return groups


def static(sc: Any, codes: tuple[str, ...], types: tuple[str, ...]) -> dict[str, Any]:
    """Draw-independent arrays of the process: phases by type, help structure, switches."""
    T, P = len(types), len(codes)
    phases = [phases_of(sc, t) or [None] for t in types]
    K = max(len(p) for p in phases)
    n_phases = np.array([len(p) for p in phases], dtype=np.int64)
    cum = np.zeros((T, K))
    decisive = np.zeros((T, K), dtype=np.bool_)
    for ti, ps in enumerate(phases):
        total = 0.0
        for k, ph in enumerate(ps):
            if k > 0:
                total += float(ph.duration)
            cum[ti, k] = total
            decisive[ti, k] = True if ph is None else bool(ph.fait_accompli)
    exponent = np.array(
        [
            float(sc.attack_types[t].exponent)
            if t in sc.attack_types and sc.attack_types[t].exponent is not None
            else float(sc.contest.exponent)
            for t in types
        ]
    )
    present = np.zeros((len(KINDS), P), dtype=np.bool_)
    load = np.ones((len(KINDS), P))
    arms_from = np.zeros(P, dtype=np.int64)
    sanction_cost = np.zeros(P)
    for i, c in enumerate(codes):
        for ki, kind in enumerate(KINDS):
            h = sc.actors[c].contributions.get(kind)
            if h is None:
                continue
            present[ki, i] = True
            load[ki, i] = float(h.correlation)
            if kind == "arms":
                arms_from[i] = int(h.from_phase) - 1
            if kind == "sanctions":
                sanction_cost[i] = float(h.cost)
    resolve_on = is_set(sc.target.resolve.probability)
    escalation_on = is_set(sc.escalation.probability)
    general = bool(K > 1 or resolve_on or escalation_on or present.any())
    return {
        "general": general,
        "n_phases": n_phases,
        "cum_days": cum,
        "decisive": decisive,
        "attrition": float(sc.war.attrition),
        "exponent": exponent,
        "help_present": present,
        "help_load": load,
        "arms_from": arms_from,
        "sanction_cost": sanction_cost,
        "resolve_on": resolve_on,
        "resolve_slope": float(sc.target.resolve.balance_slope),
        "escalation_on": escalation_on,
        "escalation_shift": float(sc.escalation.willingness_shift),
        "phase_names": [[ph.name if ph is not None else "war" for ph in ps] for ps in phases],
    }


def columns(
    params: Any, codes: tuple[str, ...], types: tuple[str, ...], target: str, aggressor: str
) -> dict[str, Any]:
    """Columns of the process's parameters among ``params`` (the model's, in
    :attr:`Draws.values` order): help (N_KINDS, P) and arms amount (P,) (-1: none), resolve and
    escalation (-1: off), the aggressor's power by type (T,) (-1: the aggressor's own)."""
    index = {p.name: j for j, p in enumerate(params)}
    return {
        "help": np.array(
            [[index.get(f"{kind}[{c}]", -1) for c in codes] for kind in KINDS], dtype=np.int64
        ).reshape(len(KINDS), len(codes)),
        "arms_amount": np.array([index.get(f"arms_amount[{c}]", -1) for c in codes], dtype=int),
        "resolve": index.get(f"resolve[{target}]", -1),
        "escalation": index.get("escalation", -1),
        "capability_type": np.array(
            [index.get(f"capability[{aggressor}/{t}]", -1) for t in types], dtype=int
        ),
    }


def _pick(values: np.ndarray, cols: np.ndarray, default: float) -> np.ndarray:
    return np.where(cols >= 0, values[np.maximum(cols, 0)], default)


def help_willingness(model: Any, values: np.ndarray) -> np.ndarray:
    """(N_KINDS, P) the draw's willingness to give each kind of help (0: not listed)."""
    return _pick(values, model.static["war_columns"]["help"], 0.0)


def aggressor_by_type(model: Any, values: np.ndarray, aggressor: float) -> np.ndarray:
    """(T,) the aggressor's power in each attack type: the type's own, else ``aggressor``."""
    return _pick(values, model.static["war_columns"]["capability_type"], aggressor)


def war_inputs(model: Any, values: np.ndarray, aggressor: float) -> dict[str, Any]:
    """The fields of :class:`forecast.model.inputs.War` for one draw's parameter ``values``."""
    st = model.static["war"]
    cols = model.static["war_columns"]
    w = np.clip(help_willingness(model, values), _EPS, 1 - _EPS)
    with np.errstate(divide="ignore"):
        thr = np.where(st["help_present"], special.ndtri(w), -np.inf)
    load = st["help_load"]
    resolve = float(values[cols["resolve"]]) if cols["resolve"] >= 0 else 1.0
    escalation = float(values[cols["escalation"]]) if cols["escalation"] >= 0 else 0.0
    return {
        "general": st["general"],
        "n_phases": st["n_phases"],
        "cum_days": st["cum_days"],
        "decisive": st["decisive"],
        "attrition": st["attrition"],
        "aggressor": aggressor_by_type(model, values, aggressor),
        "exponent": st["exponent"],
        "resolve_logit": float(special.logit(resolve)) if cols["resolve"] >= 0 else np.inf,
        "resolve_slope": st["resolve_slope"],
        "escalation": escalation,
        "escalation_shift": st["escalation_shift"],
        "help_thr": thr,
        "help_load": load,
        "help_noise": np.sqrt(1.0 - load**2),
        "arms": _pick(values, cols["arms_amount"], 0.0),
        "arms_from": st["arms_from"],
    }
