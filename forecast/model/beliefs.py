"""Config -> validated model -> epistemic parameter draws -> kernel inputs.

:func:`build_model` validates a run config (every problem at once, see
:mod:`forecast.config.rules`) and turns it into plain arrays. :func:`draw_parameters` draws the
epistemic parameters, one row per draw, through a Gaussian copula whose correlation comes from the
scenario's common factors. :func:`kernel_inputs` assembles the arrays one draw hands to a kernel.

Depends on numpy and scipy; knows nothing about kernels' internals or xarray.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from forecast.config import ConfigError, elicitation
from forecast.config.rules import attack_type_names, validate
from forecast.model import aggressor, kernels, streams

__all__ = [
    "ConfigError",
    "Draws",
    "Marginal",
    "Model",
    "Parameter",
    "build_model",
    "check",
    "draw_parameters",
    "kernel_inputs",
    "parameter_index",
    "validate",
]

_EPS = 1e-9  # keeps probabilities strictly inside (0, 1) before a probit or logit
_RULES = {
    "individual": kernels.RULE_INDIVIDUAL,
    "unanimity": kernels.RULE_UNANIMITY,
    "consensus": kernels.RULE_CONSENSUS,
    "qualified_majority": kernels.RULE_MAJORITY,
    "veto": kernels.RULE_VETO,
}


def check(cfg: Any) -> None:
    """Raise :class:`ConfigError` listing every problem, if there is any."""
    problems = validate(cfg)
    if problems:
        raise ConfigError(problems)


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


# ----------------------------------------------------------------------------------------------
# Marginal beliefs
# ----------------------------------------------------------------------------------------------


_KAPPA_RANGE = (0.05, 1e6)


def beta_concentration(mean: float, interval: list[float]) -> float:
    """Concentration kappa of Beta(mean*kappa, (1-mean)*kappa) whose 90% interval is as wide.

    The interval states the spread; the mean states the centre. Matching the width (rather than
    the end points) keeps the belief well defined when a sweep moves the mean outside the
    interval; when the interval is placed around the mean, the Beta reproduces it closely.
    Widths beyond the Beta's range are clipped to kappa in [0.05, 1e6].
    """
    width = float(interval[1]) - float(interval[0])

    def excess(log_k: float) -> float:
        k = math.exp(log_k)
        q = stats.beta.ppf([0.05, 0.95], mean * k, (1 - mean) * k)
        return float(q[1] - q[0]) - width

    lo, hi = (math.log(k) for k in _KAPPA_RANGE)
    if excess(lo) <= 0:  # wider than any Beta with this mean: the widest allowed
        return _KAPPA_RANGE[0]
    if excess(hi) >= 0:
        return _KAPPA_RANGE[1]
    return float(math.exp(optimize.brentq(excess, lo, hi, xtol=1e-10)))


@dataclass(frozen=True)
class Marginal:
    """A quantile function: ``fixed`` (a), ``beta`` (a, b), ``lognormal`` (mu, s), ``normal``."""

    kind: str
    a: float = 0.0
    b: float = 0.0

    def __call__(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=float)
        if self.kind == "fixed":
            return np.full(u.shape, self.a)
        if self.kind == "beta":
            return np.clip(stats.beta.ppf(u, self.a, self.b), _EPS, 1 - _EPS)
        if self.kind == "lognormal":
            return np.exp(self.a + self.b * special.ndtri(u))
        return special.ndtri(u)

    @classmethod
    def willingness(cls, w: Any) -> Marginal:
        if elicitation.is_elicited(w):  # experts' quantiles: the Beta fitted to them (or pool)
            fit = elicitation.fit(w, "beta")
            return cls("beta", fit.a, fit.b)
        mean = float(w.mean)
        if w.interval is not None:
            k = beta_concentration(mean, list(w.interval))
        elif w.concentration is not None:
            k = float(w.concentration)
        else:
            return cls("fixed", mean)
        return cls("beta", mean * k, (1 - mean) * k)

    @classmethod
    def positive(cls, c: Any) -> Marginal:
        """Log-normal with the given mean and sd (fixed when sd is 0 or the mean is 0)."""
        if elicitation.is_elicited(c):
            fit = elicitation.fit(c, "lognormal")
            return cls("lognormal", fit.a, fit.b)
        mean, sd = float(c.mean), float(c.sd)
        if sd == 0 or mean == 0:
            return cls("fixed", mean)
        s2 = math.log1p((sd / mean) ** 2)
        return cls("lognormal", math.log(mean) - s2 / 2, math.sqrt(s2))


@dataclass(frozen=True)
class Parameter:
    """One epistemic parameter: its name, config path, quantile function and factor loadings."""

    name: str
    path: str
    ppf: Marginal
    loadings: np.ndarray  # (K,), zeros when independent of the factors

    @property
    def fixed(self) -> bool:
        return self.ppf.kind == "fixed"


# ----------------------------------------------------------------------------------------------
# The model: validated config as arrays
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """A validated scenario as arrays. T attack types, P partners, K factors, J institutions.

    ``static`` holds the kernel arguments that do not change between draws; ``columns`` maps
    each group of parameters to its slice of :attr:`Draws.values`.
    """

    scenario: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    factors: tuple[str, ...]
    attack_types: tuple[str, ...]
    institutions: tuple[str, ...]
    aggressor: str
    target: str
    parameters: tuple[Parameter, ...]
    columns: dict[str, slice]
    type_multiplier: np.ndarray  # (T, P) willingness multipliers
    type_probability: np.ndarray  # (T,)
    # (3, T) int: column in Draws.values of each type's prize, cost and decision noise
    aggressor_columns: np.ndarray
    choose_type: bool
    partner_cost: np.ndarray  # (P,) the aggressor's cost per joining partner
    perceived_bias: np.ndarray  # (P,)
    perceived_noise: np.ndarray  # (P,)
    horizon_years: float
    vote_override: np.ndarray  # (J, V) P(yes) given in the config, NaN: the partner's draw
    vote_partner: np.ndarray  # (J, V) int partner index of the voter, -1 if not a partner
    static: dict[str, Any] = field(repr=False)
    layout: np.ndarray = field(repr=False)  # (N_LAYOUT,) column offsets, -1 absent
    n_normals: int = 0  # columns of the normal block z
    n_uniforms: int = 0  # columns of the uniform block u
    # (n_normals,), (n_uniforms,) bool: the columns that are drawn (see drawn_columns)
    z_drawn: np.ndarray | None = field(default=None, repr=False)
    u_drawn: np.ndarray | None = field(default=None, repr=False)
    # (n_normals, 2), (n_uniforms, 2) int64: each column's (group L_*, index in the group), the
    # end of its generator's key (see _layout)
    z_keys: np.ndarray | None = field(default=None, repr=False)
    u_keys: np.ndarray | None = field(default=None, repr=False)

    @property
    def random_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """z_drawn, u_drawn, z_keys, u_keys: what :func:`random_numbers.fill_block` takes after the
        blocks."""
        return self.z_drawn, self.u_drawn, self.z_keys, self.u_keys

    @property
    def random_numbers_per_crisis(self) -> tuple[int, int]:
        """Normals and uniforms one crisis consumes from the generator."""
        return int(self.z_drawn.sum()), int(self.u_drawn.sum())

    @property
    def n_partners(self) -> int:
        return len(self.codes)


def decision_order(codes: tuple[str, ...], actors: Any) -> np.ndarray:
    """Partners in dependency order (leaders before those who require or follow them)."""
    deps = {c: [o for o in [*actors[c].requires, *actors[c].follows.keys()]] for c in codes}
    done: list[str] = []
    while len(done) < len(codes):
        for c in codes:  # ties keep the config's order
            if c not in done and all(o in done for o in deps[c]):
                done.append(c)
                break
    return np.array([codes.index(c) for c in done], dtype=np.int64)


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
    P: int, K: int, J: int, V: int, sc: Any
) -> tuple[np.ndarray, int, int, np.ndarray, np.ndarray]:
    """Column offsets of each random-number group (a group is present only when used), the
    numbers of columns nz, nu, and each column's key (nz, 2), (nu, 2): its group (an ``L_*``
    code) and its index in the group.

    The sampler keys a column's generator by the latter, not by the column's position, so a
    column keeps its random numbers when another group appears or disappears (a sweep that turns
    a mechanism on keeps common random numbers in every other column).
    """
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
        keys = [(key, i) for key, width, present in groups if present for i in range(width)]
        n = 0
        for key, width, present in groups:
            if present:
                layout[key], n = n, n + width
        blocks.append(np.array(keys, dtype=np.int64).reshape(-1, 2))
    z_keys, u_keys = blocks
    return layout, len(z_keys), len(u_keys), z_keys, u_keys


def partner_flags(static: dict[str, Any]) -> np.ndarray:
    """(P,) bits telling the kernel which loops over other partners each partner needs."""
    off_diagonal = ~np.eye(len(static["buck"]), dtype=bool)
    access = (static["access"] < 1) & off_diagonal
    return (
        kernels.F_REQUIRES * static["requires"].any(axis=1)
        + kernels.F_FOLLOWS * (static["follows"] != 0).any(axis=1)
        + kernels.F_ACCESS * access.any(axis=1)
        + kernels.F_HOST * access.any(axis=0)
        + kernels.F_ALLIES * (static["allies"] > 0).any(axis=1)
    ).astype(np.int64)


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


def build_model(cfg: Any) -> Model:
    """Validate ``cfg`` (raising :class:`ConfigError`) and turn it into a :class:`Model`."""
    check(cfg)
    sc = cfg.scenario
    actors = sc.actors
    codes = tuple(actors.keys())
    factors = tuple(sc.factors.keys())
    types = tuple(attack_type_names(sc))
    P, K = len(codes), len(factors)
    agg = sc.aggressor

    loadings = np.array(
        [[float(actors[c].loadings.get(f, 0.0)) for f in factors] for c in codes]
    ).reshape(P, K)
    zeros = np.zeros(K)

    def partners(kind: str, key: str, marginal, correlated: bool = False) -> list[Parameter]:
        """One parameter per partner: ``<kind>[CODE]`` at ``scenario.actors.CODE.<key>``."""
        return [
            Parameter(
                f"{kind}[{c}]",
                f"scenario.actors.{c}.{key}",
                marginal(actors[c]),
                loadings[i] if correlated else zeros,
            )
            for i, c in enumerate(codes)
        ]

    def single(name: str, path: str, belief: Any) -> list[Parameter]:
        return [Parameter(name, path, Marginal.positive(belief), zeros)]

    aggressor_params, aggressor_columns = aggressor.parameters(
        sc, types, lambda name, path, belief: single(name, path, belief)[0]
    )

    def perception(actor: Any) -> Marginal:
        # the standard-normal error of the aggressor's view; fixed when its noise is 0
        return Marginal("normal" if float(actor.perceived.noise) > 0 else "fixed")

    groups: list[tuple[str, list[Parameter]]] = [
        (
            "willingness",
            partners(
                "willingness", "willingness", lambda a: Marginal.willingness(a.willingness), True
            ),
        ),
        (
            "capability",
            partners("capability", "capability", lambda a: Marginal.positive(a.capability)),
        ),
        (
            "capability_target",
            single(
                f"capability[{sc.target.code}]", "scenario.target.capability", sc.target.capability
            ),
        ),
        (
            "capability_aggressor",
            single(f"capability[{agg.code}]", "scenario.aggressor.capability", agg.capability),
        ),
        ("perception", partners("perception", "perceived", perception)),
        ("delay", partners("delay", "delay", lambda a: Marginal.positive(a.delay))),
        (
            "fait_accompli",
            single("fait_accompli", "scenario.aggressor.fait_accompli", agg.fait_accompli),
        ),
        ("aggressor", aggressor_params),
    ]
    params: list[Parameter] = []
    columns: dict[str, slice] = {}
    for name, group in groups:
        columns[name] = slice(len(params), len(params) + len(group))
        params.extend(group)

    type_multiplier = np.array(
        [[float(actors[c].type_willingness.get(t, 1.0)) for c in codes] for t in types]
    )
    attribution = np.array(
        [[float(actors[c].attribution.get(t, 1.0)) for c in codes] for t in types]
    )
    if sc.attack_types:
        prob = np.array([float(sc.attack_types[t].probability) for t in types])
    else:
        prob = np.ones(1)

    inst = _institution_arrays(sc, codes)
    J, V = inst["inst_abstain"].shape
    layout, nz, nu, z_keys, u_keys = _layout(P, K, J, V, sc)
    static = {
        "attribution": attribution,
        "loadings": loadings,
        "idio": np.sqrt(np.clip(1.0 - (loadings**2).sum(axis=1), 0.0, None)),
        "order": decision_order(codes, actors),
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
    static["flags"] = partner_flags(static)
    z_drawn, u_drawn = drawn_columns(layout, nz, nu, static)
    return Model(
        scenario=str(sc.name),
        codes=codes,
        names=tuple(actors[c].name or c for c in codes),
        factors=factors,
        attack_types=types,
        institutions=tuple(sc.institutions.keys()),
        aggressor=str(agg.code),
        target=str(sc.target.code),
        parameters=tuple(params),
        columns=columns,
        type_multiplier=type_multiplier,
        type_probability=prob,
        aggressor_columns=aggressor_columns + columns["aggressor"].start,
        choose_type=bool(agg.choose_type),
        partner_cost=np.array([float(actors[c].cost_to_aggressor) for c in codes]),
        perceived_bias=np.array([float(actors[c].perceived.bias) for c in codes]),
        perceived_noise=np.array([float(actors[c].perceived.noise) for c in codes]),
        horizon_years=float(sc.horizon.years),
        vote_override=inst["vote_override"],
        vote_partner=inst["vote_partner"],
        static=static,
        layout=layout,
        n_normals=nz,
        n_uniforms=nu,
        z_drawn=z_drawn,
        u_drawn=u_drawn,
        z_keys=z_keys,
        u_keys=u_keys,
    )


# ----------------------------------------------------------------------------------------------
# Epistemic draws
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draws:
    """Epistemic parameters, one row per draw (D draws, P partners)."""

    values: np.ndarray  # (D, n_parameters) every parameter, in Model.parameters order
    willingness: np.ndarray  # (D, P) our belief's draw of each partner's true willingness
    perceived: np.ndarray  # (D, P) the aggressor's view of it
    capability: np.ndarray  # (D, P)
    capability_target: np.ndarray  # (D,)
    capability_aggressor: np.ndarray  # (D,)
    delay: np.ndarray  # (D, P) days
    fait_accompli: np.ndarray  # (D,) days; inf when the scenario sets no time limit
    prize: np.ndarray  # (D, T) the aggressor's prize by attack type
    cost: np.ndarray  # (D, T) its cost of war by attack type
    decision_noise: np.ndarray  # (D, T) the scale of its logistic decision noise by type
    opportunities_per_year: np.ndarray  # (D,) crises a year in which it weighs an attack

    @property
    def n_draws(self) -> int:
        return self.values.shape[0]


def epistemic_generator(seed: int) -> np.random.Generator:
    """The generator for epistemic draws: keyed to the run's seed only."""
    key = [int(seed), streams.EPISTEMIC]
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence(key)))


def parameters_from_uniforms(model: Model, u: np.ndarray) -> np.ndarray:
    """Map copula uniforms (D, n_parameters) to parameter values through each marginal."""
    return np.stack([p.ppf(u[:, j]) for j, p in enumerate(model.parameters)], axis=1)


def parameter_index(model: Model, name: str) -> int:
    """Column of parameter ``name`` (e.g. ``willingness[USA]``) in :attr:`Draws.values`."""
    for j, p in enumerate(model.parameters):
        if p.name == name:
            return j
    known = ", ".join(p.name for p in model.parameters)
    raise ConfigError([f"unknown belief parameter '{name}' (known: {known})"])


def draws_from_values(model: Model, values: np.ndarray) -> Draws:
    """Assemble :class:`Draws` from parameter values (D, n_parameters)."""
    col = model.columns
    w = values[:, col["willingness"]]
    logit = (
        special.logit(w)
        + model.perceived_bias
        + model.perceived_noise * values[:, col["perception"]]
    )
    perceived = np.clip(special.expit(logit), _EPS, 1 - _EPS)
    # no misperception: the aggressor sees our draw itself, not expit(logit(w)) (which can differ
    # in the last bit), so both worlds decide identically in every crisis
    exact = (model.perceived_bias == 0) & (model.perceived_noise == 0)
    perceived = np.where(exact, w, perceived)
    fa = values[:, col["fait_accompli"]][:, 0]
    cols = model.aggressor_columns
    agg = {key: values[:, cols[k]] for k, key in enumerate(aggressor.KEYS)}
    return Draws(
        values=values,
        willingness=w,
        perceived=perceived,
        capability=values[:, col["capability"]],
        capability_target=values[:, col["capability_target"]][:, 0],
        capability_aggressor=values[:, col["capability_aggressor"]][:, 0],
        delay=values[:, col["delay"]],
        fait_accompli=np.where(fa > 0, fa, np.inf),
        opportunities_per_year=values[:, col["aggressor"]][:, -1],
        **agg,
    )


def copula_uniforms(model: Model, n_draws: int, seed: int) -> np.ndarray:
    """Uniforms (D, n_parameters) of the Gaussian copula, reproducibly from ``seed``."""
    rng = epistemic_generator(seed)
    L = np.stack([p.loadings for p in model.parameters])  # (n, K)
    f = rng.standard_normal((n_draws, L.shape[1]))
    e = rng.standard_normal((n_draws, L.shape[0]))
    idio = np.sqrt(np.clip(1.0 - (L**2).sum(axis=1), 0.0, None))
    return special.ndtr(f @ L.T + e * idio)


def draw_parameters(
    model: Model,
    n_draws: int,
    seed: int,
    uniforms: np.ndarray | None = None,
    fixed: dict[str, float] | None = None,
    willingness: np.ndarray | None = None,
) -> Draws:
    """Draw ``n_draws`` epistemic parameter sets, reproducibly from ``seed``.

    Parameters
    ----------
    uniforms : (n_draws, n_parameters), optional
        Copula uniforms to use instead of random ones (e.g. 0.5 everywhere for the medians).
    fixed : dict, optional
        Parameter name -> value, held at that value in every draw (e.g. ``{"willingness[USA]":
        0.9}``); the other parameters keep their draws, so comparisons share random numbers.
    willingness : (n_draws, P), optional
        Willingness draws from elsewhere (a calibration posterior), replacing the config's.
    """
    u = copula_uniforms(model, n_draws, seed) if uniforms is None else np.asarray(uniforms, float)
    values = parameters_from_uniforms(model, u)
    if willingness is not None:
        values[:, model.columns["willingness"]] = np.clip(willingness, _EPS, 1 - _EPS)
    for name, value in (fixed or {}).items():
        values[:, parameter_index(model, name)] = value
    return draws_from_values(model, values)


def type_thresholds(model: Model, w: np.ndarray) -> np.ndarray:
    """Probit thresholds (T, P) of willingness w (P,) under each attack type's multiplier."""
    return special.ndtri(np.clip(w * model.type_multiplier, _EPS, 1 - _EPS))


def _log(x: Any) -> Any:
    with np.errstate(divide="ignore"):  # a zero delay is log 0 = -inf: always in time
        return np.log(x)


def kernel_inputs(model: Model, draws: Draws, d: int) -> dict[str, Any]:
    """Keyword arguments of :func:`forecast.model.kernels.simulate_block` for draw ``d``.

    Everything except the random blocks ``z``, ``u`` and the accumulators.
    """
    votes = np.where(
        np.isnan(model.vote_override),
        draws.willingness[d][np.maximum(model.vote_partner, 0)],
        model.vote_override,
    )
    votes = np.where(
        (model.vote_partner < 0) & np.isnan(model.vote_override), 0.0, votes
    )  # padding voters never vote
    s = model.static
    return {
        "thr": type_thresholds(model, draws.willingness[d]),
        "thr_perc": type_thresholds(model, draws.perceived[d]),
        "attribution": s["attribution"],
        "loadings": s["loadings"],
        "idio": s["idio"],
        "order": s["order"],
        "requires": s["requires"],
        "follows": s["follows"],
        "buck": s["buck"],
        "cap": draws.capability[d],
        "access": s["access"],
        "engaged": s["engaged"],
        "allies": s["allies"],
        "flags": s["flags"],
        "log_delay": _log(draws.delay[d]),
        "delay_spread": s["delay_spread"],
        "timing": np.array(
            [
                _log(draws.fait_accompli[d]),
                s["fa_spread"],
                s["late_discount"],
            ]
        ),
        "inst_vote": votes,
        "inst_abstain": s["inst_abstain"],
        "inst_member": s["inst_member"],
        "inst_rule": s["inst_rule"],
        "inst_veto": s["inst_veto"],
        "inst_shift": s["inst_shift"],
        "power": np.array(
            [draws.capability_target[d], draws.capability_aggressor[d], s["exponent"]]
        ),
        "layout": model.layout,
    }
