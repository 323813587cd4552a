"""Kernel inputs: the named tuples :func:`forecast.model.kernels.simulate_block` reads, built here.

This is the one place that knows the kernel's arguments. Each group of arrays is a
:class:`typing.NamedTuple` (numba compiles attribute access on them to a plain field load), so no
array carries a meaning by its position. :func:`kernel_inputs` assembles them for one epistemic
draw from a :class:`forecast.model.beliefs.Model` and its :class:`~forecast.model.beliefs.Draws`;
the draw-independent parts (:class:`Network`, :class:`Columns`) are built once per model by
:func:`network` and :func:`columns`.

Shapes: T attack types, P partners, K factors, J institutions, V voters per institution (padded).
Depends on numpy and scipy, and on the codes of :mod:`forecast.model.kernels`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy import special

from forecast.model import kernels, process

_EPS = 1e-9  # keeps probabilities strictly inside (0, 1) before a probit


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
    """Institutions that vote on a mandate (rule RULE_INDIVIDUAL: no vote).

    Voter v of institution j votes yes iff load[j, v] x_i + noise[j, v] e_v < vote_thr[j, v]
    (x_i the resolve of the partner i it is, e_v the vote's own standard normal), abstains iff
    that is below abstain_thr[j, v] otherwise, else votes no. The thresholds are the probits of
    P(yes) and P(yes) + (1 - P(yes)) P(abstain | not yes), per draw, in our world and in the
    aggressor's (``*_perc``, from the willingness it perceives).
    """

    vote_thr: np.ndarray  # (J, V) Phi^-1(P(yes)) of each voter (-inf: never, inf: always)
    abstain_thr: np.ndarray  # (J, V) Phi^-1(P(yes) + (1 - P(yes)) P(abstain | not yes))
    vote_thr_perc: np.ndarray  # (J, V) ... as the aggressor perceives them
    abstain_thr_perc: np.ndarray  # (J, V)
    load: np.ndarray  # (J, V) weight of the partner's resolve: the vote correlation, 0 if none
    noise: np.ndarray  # (J, V) sqrt(1 - load^2): weight of the vote's own normal
    vote_partner: np.ndarray  # (J, V) int64 partner whose resolve drives the vote (load 0: any)
    veto: np.ndarray  # (J, V) bool: the voter holds a veto
    member: np.ndarray  # (J, P) bool: partner i is a member
    gated: np.ndarray  # (J, P) bool: member whose commitment only a mandate triggers (no shift)
    rule: np.ndarray  # (J,) int64 rule code RULE_*
    k: np.ndarray  # (J,) int64 yes votes a qualified majority needs
    voters: np.ndarray  # (J,) int64 voters (the rest of the V columns is padding)
    mandate_shift: np.ndarray  # (J,) members' probit shift with a mandate (not gated ones)
    no_mandate_shift: np.ndarray  # (J,) ... without one
    perceived: bool  # some collective vote threshold differs in the aggressor's world


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
    vote: int  # z: J * V normals, the own part of each institutional vote
    chain: int  # u: P uniforms, chain-ganging
    phase: int  # u: K - 1 uniforms, the contests of phases 2 .. K
    resolve: int  # u: K uniforms, the target keeps fighting through each phase
    escalation: int  # u: K uniforms, the war escalates in each phase
    help: int  # z: N_KINDS * P normals, the own part of each help decision


class War(NamedTuple):
    """The war as a process (docs/war.md) for one draw; ``general`` false: the model without it
    (one phase, nothing else), whose arrays are then not read."""

    general: bool
    n_phases: np.ndarray  # (T,) int64 phases of each attack type
    cum_days: np.ndarray  # (T, K) days from the end of phase 1 to the end of phase k
    decisive: np.ndarray  # (T, K) bool: the aggressor holding the objective then wins
    attrition: float  # lambda
    aggressor: np.ndarray  # (T,) the aggressor's power in each attack type
    exponent: np.ndarray  # (T,) the contest exponent of each attack type
    resolve_logit: float  # logit P(the target keeps fighting at D = A); inf: it always fights
    resolve_slope: float  # its change per unit log(D / A)
    escalation: float  # P(escalation in a phase) when the aggressor surely loses it; 0: none
    escalation_shift: float  # probit shift on partners' thresholds to stay in
    help_thr: np.ndarray  # (N_KINDS, P) Phi^-1 of the willingness to give each kind; -inf none
    help_load: np.ndarray  # (N_KINDS, P) correlation of the decision with the resolve
    help_noise: np.ndarray  # (N_KINDS, P) sqrt(1 - load^2)
    arms: np.ndarray  # (P,) the arms' power a partner gives (0: none)
    arms_from: np.ndarray  # (P,) int64 phase index (0-based) from which they count


class Inputs(NamedTuple):
    """Everything :func:`forecast.model.kernels.simulate_block` reads besides the random blocks."""

    partners: Partners
    network: Network
    institutions: Institutions
    timing: Timing
    power: Power
    columns: Columns
    war: War


class Tallies(NamedTuple):
    """The accumulators a block adds its counts to, in place (one draw's rows)."""

    by_type: np.ndarray  # (T, N_T) counts T_*
    by_partner: np.ndarray  # (T, P, N_TP) counts P_*
    mandates: np.ndarray  # (J,) crises with a mandate
    hist: np.ndarray  # (T, N_BINS) histogram of log10(C / A)
    mandates_perc: np.ndarray  # (J,) crises with a mandate in the world the aggressor perceives
    by_pair: np.ndarray  # (T, P, P, N_PP) counts PP_* of partner j with partner i forced out
    by_phase: np.ndarray  # (T, K, N_PH) counts PH_* of each phase (forecast.model.war)
    phase_power: np.ndarray  # (T, K) sum of the coalition's power over the crises in each phase,
    # in units of 1 / forecast.model.war.POWER_SCALE (each crisis's power truncated to them)


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
                k.L_PHASE,
                k.L_RESOLVE,
                k.L_ESCALATION,
                k.L_HELP,
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


def vote_thresholds(model: Any, willingness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(J, V) probit thresholds of a yes and of an abstention (see :class:`Institutions`) of
    each voter, from :func:`voter_probabilities` of willingness (P,)."""
    p = voter_probabilities(model, willingness)
    quiet = p + (1.0 - p) * model.static["inst_abstain"]
    with np.errstate(divide="ignore"):  # P(yes) 0 or 1: a vote that is certain, -inf or inf
        return special.ndtri(p), special.ndtri(np.minimum(quiet, 1.0))


def _institutions(model: Any, draws: Any, d: int) -> Institutions:
    """The draw's :class:`Institutions`: vote thresholds in our world and the aggressor's."""
    ins = model.static["institutions"]
    if not ins.rule.shape[0]:
        return ins
    vote, abstain = vote_thresholds(model, draws.willingness[d])
    vote_p, abstain_p = vote_thresholds(model, draws.perceived[d])
    collective = (ins.rule != kernels.RULE_INDIVIDUAL)[:, None]
    differs = bool((collective & ((vote_p != vote) | (abstain_p != abstain))).any())
    return ins._replace(
        vote_thr=_c(vote),
        abstain_thr=_c(abstain),
        vote_thr_perc=_c(vote_p),
        abstain_thr_perc=_c(abstain_p),
        perceived=differs,
    )


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
    return Inputs(
        partners=partners,
        network=s["network"],
        institutions=_institutions(model, draws, d),
        timing=Timing(
            float(_log(draws.fait_accompli[d])), float(s["fa_spread"]), float(s["late_discount"])
        ),
        power=Power(
            float(draws.capability_target[d]),
            float(draws.capability_aggressor[d]),
            float(s["exponent"]),
        ),
        columns=s["columns"],
        war=War(
            **{
                key: _c(v) if isinstance(v, np.ndarray) and v.dtype == np.float64 else v
                for key, v in process.war_inputs(
                    model, draws.values[d], float(draws.capability_aggressor[d])
                ).items()
            }
        ),
    )
