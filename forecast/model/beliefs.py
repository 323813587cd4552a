"""Config -> validated model -> epistemic parameter draws -> kernel inputs.

:func:`build_model` validates a run config (every problem at once, see
:mod:`forecast.config.rules`) and turns it into plain arrays. :func:`draw_parameters` draws the
epistemic parameters, one row per draw, through a Gaussian copula whose correlation comes from the
scenario's common factors. :func:`kernel_inputs` (from :mod:`forecast.model.inputs`) assembles the
named tuples one draw hands to a kernel.

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
from forecast.model import aggressor, arrays, process, streams
from forecast.model.inputs import kernel_inputs

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


def check(cfg: Any) -> None:
    """Raise :class:`ConfigError` listing every problem, if there is any."""
    problems = validate(cfg)
    if problems:
        raise ConfigError(problems)


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def calibrated_source(cfg: Any) -> bool:
    """Whether partners' willingness is a calibrated P(honour) (``beliefs.source=calibrated``)."""
    source = cfg.beliefs.source if "beliefs" in cfg else "config"
    return str(_value(source)) == "calibrated"


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
    if excess(lo) <= 0:
        # With a mean within 0.05 of 0 or 1 the width is not monotone in kappa: near kappa 0
        # the Beta is a near-Bernoulli whose 90% interval is a point at the nearer end, so it
        # is narrow there too. The widest Beta is at the peak; the interval is matched on the
        # branch beyond it (one end of the Beta's mass, not both).
        peak = optimize.minimize_scalar(
            lambda lk: -excess(lk), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
        ).x
        if excess(peak) <= excess(lo):  # the widest is at the smallest kappa: as wide as allowed
            return _KAPPA_RANGE[0]
        if excess(peak) <= 0:  # wider than any Beta with this mean: the widest
            return float(math.exp(peak))
        lo = peak
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


def build_model(cfg: Any, validated: bool = False) -> Model:
    """Validate ``cfg`` (raising :class:`ConfigError`) and turn it into a :class:`Model`.

    ``validated=True`` skips the check, for a caller that has just run it on this very config.
    """
    if not validated:
        check(cfg)
    sc = cfg.scenario
    actors = sc.actors
    codes = tuple(sorted(actors.keys()))  # canonical: the config's order means nothing
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

    def make(name: str, path: str, belief: Any, kind: str) -> Parameter:
        marginal = Marginal.willingness if kind == "willingness" else Marginal.positive
        return Parameter(name, path, marginal(belief), zeros)

    groups += process.parameters(sc, codes, types, make)
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

    static, rnd = arrays.static_arrays(
        sc, codes, attribution, loadings, np.full(P, calibrated_source(cfg))
    )
    static["war_columns"] = process.columns(params, codes, types, sc.target.code, agg.code)
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
        vote_override=static["vote_override"],
        vote_partner=static["vote_partner"],
        static=static,
        **rnd,
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


def _keyed_normals(seed: int, kind: int, names: Any, n_draws: int) -> np.ndarray:
    """(n_draws, len(names)) standard normals, each column from its own generator keyed by the
    seed and the name, so that a parameter's draws do not depend on which others exist."""
    cols = [
        np.random.Generator(
            np.random.SFC64(
                np.random.SeedSequence([int(seed), streams.EPISTEMIC, kind, arrays.stable_key(n)])
            )
        ).standard_normal(n_draws)
        for n in names
    ]
    return np.stack(cols, axis=1) if cols else np.zeros((n_draws, 0))


def copula_uniforms(model: Model, n_draws: int, seed: int) -> np.ndarray:
    """Uniforms (D, n_parameters) of the Gaussian copula, reproducibly from ``seed``: the
    factors' and each parameter's normals are keyed by their names (not their positions)."""
    L = np.stack([p.loadings for p in model.parameters])  # (n, K)
    f = _keyed_normals(seed, 1, model.factors, n_draws)
    e = _keyed_normals(seed, 2, [p.name for p in model.parameters], n_draws)
    idio = np.sqrt(np.clip(1.0 - (L**2).sum(axis=1), 0.0, None))
    return special.ndtr(f @ L.T + e * idio)


def draw_parameters(
    model: Model,
    n_draws: int,
    seed: int,
    uniforms: np.ndarray | None = None,
    fixed: dict[str, float] | None = None,
    willingness: np.ndarray | None = None,
    opportunities_per_year: np.ndarray | None = None,
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
    opportunities_per_year : (n_draws,), optional
        The aggressor's crises per year from elsewhere (the initiation posterior), replacing
        ``scenario.horizon.opportunities_per_year``.
    """
    u = copula_uniforms(model, n_draws, seed) if uniforms is None else np.asarray(uniforms, float)
    values = parameters_from_uniforms(model, u)
    if willingness is not None:
        values[:, model.columns["willingness"]] = np.clip(willingness, _EPS, 1 - _EPS)
    if opportunities_per_year is not None:
        values[:, parameter_index(model, aggressor.RATE)] = opportunities_per_year
    for name, value in (fixed or {}).items():
        values[:, parameter_index(model, name)] = value
    return draws_from_values(model, values)
