"""From a validated scenario to the draw-independent arrays of the kernel's inputs.

:func:`static_arrays` turns a validated scenario into the ``static`` arrays of a
:class:`forecast.model.beliefs.Model`: the decision order by dependency level and state code
(:func:`decision_order`), the dependency matrices, the institutions, the random-number layout
whose columns are keyed by :func:`stable_key` of a name, never by a position, and the
draw-independent named tuples of :mod:`forecast.model.inputs`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from forecast.config import ConfigError
from forecast.config.rules import KINDS, attack_type_names
from forecast.model import kernels, process
from forecast.model.inputs import Institutions, columns, network, static_partners

_RULES = {
    "individual": kernels.RULE_INDIVIDUAL,
    "unanimity": kernels.RULE_UNANIMITY,
    "consensus": kernels.RULE_CONSENSUS,
    "qualified_majority": kernels.RULE_MAJORITY,
    "veto": kernels.RULE_VETO,
}


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def stable_key(name: str) -> int:
    """A 31-bit key of a name (a state code, a factor), the same in every run and scenario:
    it keys the name's random-number columns, so that they do not depend on its position."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little") & 0x7FFFFFFF


def decision_order(depends: np.ndarray, codes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Partners leaders first, and the (L + 1,) starts of each level in that order.

    depends (P, P) bool: i requires or follows j (acyclic: validated). A partner's level is 0
    when it depends on nobody, else one more than the highest level of those it depends on;
    the order is by level, then by state code, never by the order of the config. Partners of
    one level decide simultaneously: none requires or follows another, and buck-passing among
    them is symmetric (see :func:`forecast.model.coalition.decide`).
    """
    P = len(codes)
    level = np.full(P, -1, dtype=np.int64)
    while (level < 0).any():  # at most P rounds: the graph is acyclic
        for i in range(P):
            deps = level[depends[i]]
            if level[i] < 0 and (deps >= 0).all():
                level[i] = 1 + deps.max(initial=-1)
    order = np.array(sorted(range(P), key=lambda i: (level[i], codes[i])), dtype=np.int64)
    starts = np.searchsorted(level[order], np.arange(level.max(initial=-1) + 2))
    return order, starts.astype(np.uint32)


def _partner_matrix(codes, actors, key: str, default: float) -> np.ndarray:
    P = len(codes)
    out = np.full((P, P), default)
    for i, c in enumerate(codes):
        for other, v in actors[c][key].items():
            out[i, codes.index(other)] = float(v)
    return out


def _institution_arrays(
    sc: Any, codes: tuple[str, ...], calibrated: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-institution arrays; ``calibrated`` (P,) bool marks partners whose willingness is a
    calibrated P(honour): in an institution with a collective rule only a mandate triggers their
    commitment (gated), and the mandate shifts are not added to them."""
    insts = list(sc.institutions.values())
    J = len(insts)
    V = max([len(i.members) for i in insts] + [1])
    P = len(codes)
    out = {
        "inst_abstain": np.zeros((J, V)),
        "inst_member": np.zeros((J, P), dtype=np.bool_),
        "inst_rule": np.zeros((J, 3)),
        "inst_veto": np.zeros((J, V), dtype=np.bool_),
        "inst_shift": np.zeros((J, 2)),
        "inst_gated": np.zeros((J, P), dtype=np.bool_),
        "inst_load": np.zeros((J, V)),
        "vote_override": np.full((J, V), np.nan),
        "vote_partner": np.full((J, V), -1, dtype=np.int64),
    }
    for j, inst in enumerate(insts):
        out["inst_rule"][j] = (_RULES[_value(inst.rule)], float(inst.k), len(inst.members))
        out["inst_shift"][j] = (float(inst.mandate_shift), float(inst.no_mandate_shift))
        for v, m in enumerate(inst.members):
            out["inst_veto"][j, v] = m in inst.veto
            if m == sc.aggressor.code:  # the aggressor always votes no and never abstains
                out["vote_override"][j, v] = 0.0
                continue
            out["inst_abstain"][j, v] = float(inst.abstain)
            if m in inst.vote:
                out["vote_override"][j, v] = float(inst.vote[m])
            if m in codes:
                i = codes.index(m)
                out["vote_partner"][j, v] = i
                out["inst_member"][j, i] = True
                # a partner votes on its own resolve; other states and the aggressor have none
                out["inst_load"][j, v] = float(inst.vote_correlation)
                out["inst_gated"][j, i] = bool(calibrated[i]) and _value(inst.rule) != "individual"
    return out


def _layout(
    codes: tuple[str, ...], J: int, V: int, sc: Any, war: dict[str, Any]
) -> tuple[np.ndarray, int, int, np.ndarray, np.ndarray]:
    """Column offsets of each random-number group (a group is present only when used), the
    numbers of columns nz, nu, and each column's key (nz, 2), (nu, 2): its group (an ``L_*``
    code) and, within the group, the :func:`stable_key` of the partner's state code, of the
    factor's name or of the institution's name and voter (0 for the one-column groups).

    The sampler keys a column's generator by the latter, not by the column's position, so a
    column keeps its random numbers when another group appears or disappears (a sweep that turns
    a mechanism on keeps common random numbers in every other column), when the partners are
    listed in another order, or when a partner is added.
    """
    P, K = len(codes), len(sc.factors)
    names = {
        kernels.L_FACTOR: [stable_key(f) for f in sc.factors],
        kernels.L_VOTE: [stable_key(f"{name}/{v}") for name in sc.institutions for v in range(V)],
    }
    for group in (kernels.L_IDIO, kernels.L_DELAY, kernels.L_ATTR, kernels.L_ENGAGED):
        names[group] = [stable_key(c) for c in codes]
    names[kernels.L_CHAIN] = names[kernels.L_IDIO]
    names[kernels.L_HELP] = [stable_key(f"{kind}/{c}") for kind in KINDS for c in codes]
    for group, keys in names.items():
        if len(set(keys)) < len(keys):  # 31-bit keys of a few dozen names: practically never
            raise ConfigError(
                [f"scenario: random-number keys of group {group} collide: rename one"]
            )
    actors = sc.actors.values()
    n_phases = int(war["cum_days"].shape[1])
    layout = np.full(kernels.N_LAYOUT, -1, dtype=np.int64)
    any_attr = any(float(v) < 1 for a in actors for v in a.attribution.values())
    any_vote = any(_value(i.rule) != "individual" for i in sc.institutions.values())
    blocks = []
    for groups in (
        (
            (kernels.L_FACTOR, K, True),
            (kernels.L_IDIO, P, True),
            (kernels.L_DELAY, P, any(float(a.delay.spread) > 0 for a in actors)),
            (kernels.L_FA, 1, float(sc.aggressor.fait_accompli.spread) > 0),
            (kernels.L_VOTE, J * V, any_vote),
            (
                kernels.L_HELP,
                len(KINDS) * P,
                bool((war["help_present"] & (war["help_load"] < 1)).any()),
            ),
        ),
        (
            (kernels.L_CONTEST, 1, True),
            (kernels.L_ATTR, P, any_attr),
            (kernels.L_ENGAGED, P, any(float(a.engaged.probability) > 0 for a in actors)),
            (kernels.L_CHAIN, P, any(float(v) > 0 for a in actors for v in a.allies.values())),
            (kernels.L_PHASE, n_phases - 1, n_phases > 1),
            (kernels.L_RESOLVE, n_phases, war["resolve_on"]),
            (kernels.L_ESCALATION, n_phases, war["escalation_on"]),
        ),
    ):
        keys = [
            (key, names[key][i] if key in names else i)
            for key, width, present in groups
            if present
            for i in range(width)
        ]
        n = 0
        for key, width, present in groups:
            if present:
                layout[key], n = n, n + width
        blocks.append(np.array(keys, dtype=np.int64).reshape(-1, 2))
    z_keys, u_keys = blocks
    return layout, len(z_keys), len(u_keys), z_keys, u_keys


def drawn_columns(
    layout: np.ndarray, nz: int, nu: int, static: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """(nz,), (nu,) bool: the columns of z and u whose numbers can change an outcome.

    A group of columns has one column per partner (or voter) when any of them needs it; the
    others' columns are never read (chain-ganging of a partner without allies, votes of padding
    voters or of institutions that do not vote) or cannot matter (the delay noise of a partner
    whose spread is 0, the attribution uniform of a partner whose attribution is 1 for every
    attack type, the other-theatre uniform of a partner never engaged). The sampler draws only
    the flagged columns, so a crisis consumes only the random numbers it uses.
    """
    z_drawn, u_drawn = np.ones(nz, dtype=bool), np.ones(nu, dtype=bool)

    def mark(drawn: np.ndarray, key: int, used: np.ndarray) -> None:
        if layout[key] >= 0:
            drawn[layout[key] : layout[key] + len(used)] = used

    mark(z_drawn, kernels.L_DELAY, static["delay_spread"] > 0)
    mark(u_drawn, kernels.L_ATTR, (static["attribution"] < 1).any(axis=0))
    mark(u_drawn, kernels.L_ENGAGED, static["engaged"][:, 0] > 0)
    mark(u_drawn, kernels.L_CHAIN, (static["allies"] > 0).any(axis=1))
    rule = static["inst_rule"]
    J, V = static["inst_abstain"].shape
    votes = (rule[:, :1] != kernels.RULE_INDIVIDUAL) & (np.arange(V) < rule[:, 2:3])
    # a vote that is its member's resolve alone (correlation 1) needs no number of its own
    mark(z_drawn, kernels.L_VOTE, (votes & (static["inst_load"] < 1.0)).reshape(J * V))
    war = static["war"]
    help_used = war["help_present"] & (war["help_load"] < 1.0)
    mark(z_drawn, kernels.L_HELP, help_used.reshape(help_used.size))
    return z_drawn, u_drawn


def static_arrays(
    sc: Any,
    codes: tuple[str, ...],
    attribution: np.ndarray,
    loadings: np.ndarray,
    calibrated: np.ndarray | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The draw-independent arrays of a validated scenario ``sc`` (partners ``codes``;
    attribution (T, P), factor loadings (P, K) and calibrated (P,) bool, the partners whose
    willingness is a calibrated P(honour), default none): the ``static`` dict of a model, its
    :class:`Network`, :class:`Institutions`, :class:`Columns` and draw-independent
    :class:`Partners` included, and its random-number layout (the Model fields ``layout``,
    ``n_normals``, ``n_uniforms``, ``z_drawn``, ``u_drawn``, ``z_keys``, ``u_keys``)."""
    actors, agg = sc.actors, sc.aggressor
    P, K = loadings.shape
    calibrated = np.zeros(P, dtype=bool) if calibrated is None else np.asarray(calibrated)
    inst = _institution_arrays(sc, codes, calibrated)
    J, V = inst["inst_abstain"].shape
    types = tuple(attack_type_names(sc))
    war = process.static(sc, codes, types)
    layout, nz, nu, z_keys, u_keys = _layout(codes, J, V, sc, war)
    depends = [[o in actors[c].requires or o in actors[c].follows for o in codes] for c in codes]
    order, levels = decision_order(np.array(depends, dtype=bool).reshape(P, P), codes)
    static = {
        "attribution": attribution,
        "loadings": loadings,
        "idio": np.sqrt(np.clip(1.0 - (loadings**2).sum(axis=1), 0.0, None)),
        "order": order,
        "levels": levels,
        "requires": np.array(
            [[o in actors[c].requires for o in codes] for c in codes], dtype=np.bool_
        ).reshape(P, P),
        "follows": _partner_matrix(codes, actors, "follows", 0.0),
        "buck": np.array([float(actors[c].buck_passing) for c in codes]),
        "access": _partner_matrix(codes, actors, "access", 1.0),
        "engaged": np.array(
            [
                [
                    float(actors[c].engaged.probability),
                    float(actors[c].engaged.capability_factor),
                    float(actors[c].engaged.willingness_shift),
                ]
                for c in codes
            ]
        ).reshape(P, 3),
        "allies": _partner_matrix(codes, actors, "allies", 0.0),
        "delay_spread": np.array([float(actors[c].delay.spread) for c in codes]),
        "fa_spread": float(agg.fait_accompli.spread),
        "late_discount": float(sc.late_discount),
        "exponent": float(sc.contest.exponent),
        "war": war,
        **{k: v for k, v in inst.items() if k.startswith("inst_")},
    }
    static["network"] = network(
        order,
        levels,
        static["requires"],
        static["follows"],
        static["allies"],
        static["access"],
        static["buck"],
    )
    rule = static["inst_rule"]
    load = static["inst_load"]
    unset = np.zeros_like(static["inst_abstain"])  # per draw: see inputs.vote_thresholds
    static["institutions"] = Institutions(
        vote_thr=unset,
        abstain_thr=unset,
        vote_thr_perc=unset,
        abstain_thr_perc=unset,
        load=load,
        noise=np.sqrt(1.0 - load**2),
        vote_partner=np.maximum(inst["vote_partner"], 0),
        veto=static["inst_veto"],
        member=static["inst_member"],
        gated=static["inst_gated"],
        rule=rule[:, 0].astype(np.int64),
        k=rule[:, 1].astype(np.int64),
        voters=rule[:, 2].astype(np.int64),
        mandate_shift=static["inst_shift"][:, 0].copy(),
        no_mandate_shift=static["inst_shift"][:, 1].copy(),
        perceived=False,
    )
    static["columns"] = columns(layout)
    static["partners"] = static_partners(static)
    static["vote_override"], static["vote_partner"] = inst["vote_override"], inst["vote_partner"]
    z_drawn, u_drawn = drawn_columns(layout, nz, nu, static)
    random = {"layout": layout, "n_normals": nz, "n_uniforms": nu, "z_drawn": z_drawn}
    return static, {**random, "u_drawn": u_drawn, "z_keys": z_keys, "u_keys": u_keys}
