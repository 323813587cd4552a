"""Kernel inputs: the named tuples :func:`forecast.model.kernels.simulate_block` reads, built here.

This is the one place that knows the kernel's arguments. Each group of arrays is a
:class:`typing.NamedTuple` (numba compiles attribute access on them to a plain field load), so no
array carries a meaning by its position. :func:`kernel_inputs` assembles them for one epistemic
draw from a :class:`forecast.model.beliefs.Model` and its :class:`~forecast.model.beliefs.Draws`;
the draw-independent parts (:class:`Network`, :class:`Columns`) are built once per model by
:func:`network` and :func:`columns`.

Shapes: T attack types, P partners, K factors, J institutions, V voters per institution (padded).
:func:`static_arrays` turns a validated scenario into the draw-independent arrays (the decision
order, the dependency matrices, the institutions and the random-number layout).

Depends on numpy and scipy, and on the codes of :mod:`forecast.model.kernels`.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import numpy as np
from scipy import special

from forecast.config import ConfigError
from forecast.model import kernels

_EPS = 1e-9  # keeps probabilities strictly inside (0, 1) before a probit
_RULES = {
    "individual": kernels.RULE_INDIVIDUAL,
    "unanimity": kernels.RULE_UNANIMITY,
    "consensus": kernels.RULE_CONSENSUS,
    "qualified_majority": kernels.RULE_MAJORITY,
    "veto": kernels.RULE_VETO,
}


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


class Partners(NamedTuple):
    """Per-partner arrays of one draw."""

    thr: np.ndarray  # (T, P) probit thresholds of the true willingness, by attack type
    thr_perc: np.ndarray  # (T, P) ... of the willingness the aggressor perceives
    expected: np.ndarray  # (T, P) P(recognises the attack and is willing): what peers expect
    expected_perc: np.ndarray  # (T, P) ... as the aggressor perceives it
    attribution: np.ndarray  # (T, P) P(partner recognises the attack type as aggression)
    loadings: np.ndarray  # (P, K) factor loadings of latent resolve
    idio: np.ndarray  # (P,) sqrt(1 - |L_i|^2): weight of the idiosyncratic normal
    cap: np.ndarray  # (P,) capabilities
    buck: np.ndarray  # (P,) probit shift per unit share of partner power already committed
    engaged_probability: np.ndarray  # (P,) P(engaged in another theatre)
    engaged_factor: np.ndarray  # (P,) capability factor when engaged
    engaged_shift: np.ndarray  # (P,) probit shift when engaged
    log_delay: np.ndarray  # (P,) log response delay in days (-inf: none)
    delay_spread: np.ndarray  # (P,) its aleatory log-sd


class Links(NamedTuple):
    """A (P, P) matrix between partners and, per partner i, the columns j of its entries that
    are not neutral (0, or 1 for access): ``idx[ptr[i]:ptr[i + 1]]``, in column order (uint32, so
    numba drops its negative-index wraparound)."""

    ptr: np.ndarray  # (P + 1,) uint32
    idx: np.ndarray  # (nnz,) uint32
    value: np.ndarray  # (P, P) float64


class Network(NamedTuple):
    """Dependencies between partners as the decision pass walks them (draw-independent)."""

    order: np.ndarray  # (P,) uint32 decision order: by dependency level, then state code
    levels: np.ndarray  # (L + 1,) uint32: level l is order[levels[l]:levels[l + 1]]
    requires: np.ndarray  # (P,) int64 bit mask of the partners i requires
    follows: Links  # probit shift of i when j acts
    allies: Links  # P(i is drawn in | ally j acts)
    chainers: np.ndarray  # (n,) uint32 partners with allies, in decision order
    cascade: int  # bit mask of partners who are some chainer's ally
    access: Links  # factor on i's power when j does not act
    host: np.ndarray  # (P,) bool: another partner's power depends on i acting
    rerun: np.ndarray  # (P,) bool: forcing i in or out can change another's decision


class Institutions(NamedTuple):
    """Institutions that vote on a mandate (rule RULE_INDIVIDUAL: no vote)."""

    vote: np.ndarray  # (J, V) P(yes) of each voter
    abstain: np.ndarray  # (J, V) P(abstain | not yes)
    veto: np.ndarray  # (J, V) bool: the voter holds a veto
    member: np.ndarray  # (J, P) bool: partner i is a member
    rule: np.ndarray  # (J,) int64 rule code RULE_*
    k: np.ndarray  # (J,) int64 yes votes a qualified majority needs
    voters: np.ndarray  # (J,) int64 voters (the rest of the V columns is padding)
    mandate_shift: np.ndarray  # (J,) members' probit shift with a mandate
    no_mandate_shift: np.ndarray  # (J,) ... without one


class Timing(NamedTuple):
    log_fait_accompli: float  # log fait-accompli time in days (inf: none)
    spread: float  # its aleatory log-sd
    late_discount: float  # factor on the power of a partner arriving after it


class Power(NamedTuple):
    target: float  # the target's own power
    aggressor: float  # the aggressor's power
    exponent: float  # contest exponent m


class Columns(NamedTuple):
    """Column offsets of each random-number group in z (normals) and u (uniforms); -1 absent."""

    factor: int  # z: K factor normals
    idio: int  # z: P idiosyncratic normals of resolve
    delay: int  # z: P normals of the response delays
    fait_accompli: int  # z: 1 normal of the fait-accompli time
    contest: int  # u: 1 uniform, the fighting's outcome
    attribution: int  # u: P uniforms
    engaged: int  # u: P uniforms, engaged in another theatre
    vote: int  # u: J * V uniforms, institutional votes
    chain: int  # u: P uniforms, chain-ganging


class Inputs(NamedTuple):
    """Everything :func:`forecast.model.kernels.simulate_block` reads besides the random blocks."""

    partners: Partners
    network: Network
    institutions: Institutions
    timing: Timing
    power: Power
    columns: Columns


class Tallies(NamedTuple):
    """The accumulators a block adds its counts to, in place (one draw's rows)."""

    by_type: np.ndarray  # (T, N_T) counts T_*
    by_partner: np.ndarray  # (T, P, N_TP) counts P_*
    mandates: np.ndarray  # (J,) crises with a mandate
    hist: np.ndarray  # (T, N_BINS) histogram of log10(C / A)


def links(a: np.ndarray, neutral: float) -> Links:
    """The :class:`Links` of a (P, P) matrix whose entries equal to ``neutral`` do nothing."""
    a = np.asarray(a, dtype=np.float64)
    rows, cols = np.nonzero(a != neutral)
    ptr = np.zeros(a.shape[0] + 1, dtype=np.uint32)
    np.cumsum(np.bincount(rows, minlength=a.shape[0]), out=ptr[1:])
    return Links(ptr, cols.astype(np.uint32), a)


def masks(a: np.ndarray) -> np.ndarray:
    """(P,) int64 bit mask of each row of the (P, Q) bool array a (bit j: a[i, j])."""
    bits = np.left_shift(np.int64(1), np.arange(a.shape[1], dtype=np.int64))
    return (a.astype(np.int64) * bits).sum(axis=1, dtype=np.int64).reshape(a.shape[0])


def network(
    order: np.ndarray,
    levels: np.ndarray,
    requires: np.ndarray,
    follows: np.ndarray,
    allies: np.ndarray,
    access: np.ndarray,
    buck: np.ndarray,
) -> Network:
    """The :class:`Network` of a model: the decision order (P,) and its level starts (L + 1,)
    (see :func:`decision_order`), requires (P, P) bool, follows, allies, access (P, P) and
    buck (P,) buck-passing."""
    order = np.asarray(order).astype(np.uint32)
    ally_links = links(allies, 0.0)
    has_allies = ally_links.ptr[1:] > ally_links.ptr[:-1]
    cascade = masks((np.asarray(allies) > 0)[has_allies].any(axis=0, keepdims=True))[0]
    P = access.shape[0]
    off_diagonal = ~np.eye(P, dtype=bool)
    level = np.empty(P, dtype=np.int64)
    for lev in range(len(levels) - 1):
        level[order[levels[lev] : levels[lev + 1]]] = lev
    passing = np.asarray(buck) != 0
    # i's choice reaches another's decision: it is required, followed or an ally, or someone of
    # its level or above passes the buck on it; or i requires someone (then whether i can act
    # at all is the decision pass's to say)
    later_passing = np.array(
        [(passing & off_diagonal[i] & (level >= level[i])).any() for i in range(P)]
    )
    rerun = (
        np.asarray(requires).any(axis=0)
        | (np.asarray(follows) != 0).any(axis=0)
        | (np.asarray(allies) > 0).any(axis=0)
        | np.asarray(requires).any(axis=1)
        | later_passing.reshape(P)
    )
    return Network(
        order=order,
        levels=np.asarray(levels, dtype=np.uint32),
        requires=masks(requires),
        follows=links(follows, 0.0),
        allies=ally_links,
        chainers=order[has_allies[order]],
        cascade=int(cascade),
        access=links(access, 1.0),
        host=((np.asarray(access) < 1) & off_diagonal).any(axis=0),
        rerun=rerun,
    )


def columns(layout: np.ndarray) -> Columns:
    """The :class:`Columns` of a layout (N_LAYOUT,) of offsets indexed by the ``L_*`` codes."""
    k = kernels
    return Columns(
        *(
            int(layout[code])
            for code in (
                k.L_FACTOR,
                k.L_IDIO,
                k.L_DELAY,
                k.L_FA,
                k.L_CONTEST,
                k.L_ATTR,
                k.L_ENGAGED,
                k.L_VOTE,
                k.L_CHAIN,
            )
        )
    )


def type_willingness(model: Any, w: np.ndarray) -> np.ndarray:
    """Willingness (T, P) of willingness w (P,) under each attack type's multiplier."""
    return np.clip(w * model.type_multiplier, _EPS, 1 - _EPS)


def type_thresholds(model: Any, w: np.ndarray) -> np.ndarray:
    """Probit thresholds (T, P) of willingness w (P,) under each attack type's multiplier."""
    return special.ndtri(type_willingness(model, w))


def _log(x: Any) -> Any:
    with np.errstate(divide="ignore"):  # a zero delay is log 0 = -inf: always in time
        return np.log(x)


def voter_probabilities(model: Any, willingness: np.ndarray) -> np.ndarray:
    """(J, V) P(yes) of each voter: the config's value, else the partner's willingness (P,);
    padding voters never vote yes."""
    partner = np.maximum(model.vote_partner, 0)
    votes = np.where(np.isnan(model.vote_override), willingness[partner], model.vote_override)
    return np.where((model.vote_partner < 0) & np.isnan(model.vote_override), 0.0, votes)


def _c(a: Any) -> np.ndarray:
    # contiguous float64: one compiled kernel (and its entry point, see jit.specialise) for all
    return np.ascontiguousarray(a, dtype=np.float64)


def static_partners(static: dict[str, Any]) -> Partners:
    """The draw-independent :class:`Partners` fields of a model (the others are NaN until
    :func:`kernel_inputs` fills them for a draw)."""
    T, P = static["attribution"].shape
    eng = static["engaged"]
    return Partners(
        thr=np.full((T, P), np.nan),
        thr_perc=np.full((T, P), np.nan),
        expected=np.full((T, P), np.nan),
        expected_perc=np.full((T, P), np.nan),
        attribution=_c(static["attribution"]),
        loadings=_c(static["loadings"]),
        idio=_c(static["idio"]),
        cap=np.full(P, np.nan),
        buck=_c(static["buck"]),
        engaged_probability=_c(eng[:, 0]),
        engaged_factor=_c(eng[:, 1]),
        engaged_shift=_c(eng[:, 2]),
        log_delay=np.full(P, np.nan),
        delay_spread=_c(static["delay_spread"]),
    )


def kernel_inputs(model: Any, draws: Any, d: int) -> Inputs:
    """The :class:`Inputs` of draw ``d`` of ``draws`` (a :class:`forecast.model.beliefs.Draws`)."""
    s = model.static
    w, w_perc = (
        type_willingness(model, draws.willingness[d]),
        type_willingness(model, draws.perceived[d]),
    )
    partners = s["partners"]._replace(
        thr=_c(special.ndtri(w)),
        thr_perc=_c(special.ndtri(w_perc)),
        expected=_c(w * s["attribution"]),
        expected_perc=_c(w_perc * s["attribution"]),
        cap=_c(draws.capability[d]),
        log_delay=_c(_log(draws.delay[d])),
    )
    inst = s["institutions"]._replace(vote=_c(voter_probabilities(model, draws.willingness[d])))
    return Inputs(
        partners=partners,
        network=s["network"],
        institutions=inst,
        timing=Timing(
            float(_log(draws.fait_accompli[d])), float(s["fa_spread"]), float(s["late_discount"])
        ),
        power=Power(
            float(draws.capability_target[d]),
            float(draws.capability_aggressor[d]),
            float(s["exponent"]),
        ),
        columns=s["columns"],
    )


# ----------------------------------------------------------------------------------------------
# From a validated scenario: the draw-independent arrays
# ----------------------------------------------------------------------------------------------


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


def _institution_arrays(sc: Any, codes: tuple[str, ...]) -> dict[str, np.ndarray]:
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
                out["vote_partner"][j, v] = codes.index(m)
                out["inst_member"][j, codes.index(m)] = True
    return out


def _layout(
    codes: tuple[str, ...], J: int, V: int, sc: Any
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
    for group, keys in names.items():
        if len(set(keys)) < len(keys):  # 31-bit keys of a few dozen names: practically never
            raise ConfigError(
                [f"scenario: random-number keys of group {group} collide: rename one"]
            )
    actors = sc.actors.values()
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
        ),
        (
            (kernels.L_CONTEST, 1, True),
            (kernels.L_ATTR, P, any_attr),
            (kernels.L_ENGAGED, P, any(float(a.engaged.probability) > 0 for a in actors)),
            (kernels.L_VOTE, J * V, any_vote),
            (kernels.L_CHAIN, P, any(float(v) > 0 for a in actors for v in a.allies.values())),
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
    mark(u_drawn, kernels.L_VOTE, votes.reshape(J * V))
    return z_drawn, u_drawn


def static_arrays(
    sc: Any, codes: tuple[str, ...], attribution: np.ndarray, loadings: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The draw-independent arrays of a validated scenario ``sc`` (partners ``codes``;
    attribution (T, P) and factor loadings (P, K)): the ``static`` dict of a model, its
    :class:`Network`, :class:`Institutions`, :class:`Columns` and draw-independent
    :class:`Partners` included, and its random-number layout (the Model fields ``layout``,
    ``n_normals``, ``n_uniforms``, ``z_drawn``, ``u_drawn``, ``z_keys``, ``u_keys``)."""
    actors, agg = sc.actors, sc.aggressor
    P, K = loadings.shape
    inst = _institution_arrays(sc, codes)
    J, V = inst["inst_abstain"].shape
    layout, nz, nu, z_keys, u_keys = _layout(codes, J, V, sc)
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
    static["institutions"] = Institutions(
        vote=np.zeros_like(static["inst_abstain"]),  # per draw: see inputs.voter_probabilities
        abstain=static["inst_abstain"],
        veto=static["inst_veto"],
        member=static["inst_member"],
        rule=rule[:, 0].astype(np.int64),
        k=rule[:, 1].astype(np.int64),
        voters=rule[:, 2].astype(np.int64),
        mandate_shift=static["inst_shift"][:, 0].copy(),
        no_mandate_shift=static["inst_shift"][:, 1].copy(),
    )
    static["columns"] = columns(layout)
    static["partners"] = static_partners(static)
    static["vote_override"], static["vote_partner"] = inst["vote_override"], inst["vote_partner"]
    z_drawn, u_drawn = drawn_columns(layout, nz, nu, static)
    random = {"layout": layout, "n_normals": nz, "n_uniforms": nu, "z_drawn": z_drawn}
    return static, {**random, "u_drawn": u_drawn, "z_keys": z_keys, "u_keys": u_keys}
