"""Config -> validated model -> epistemic parameter draws.

Every domain rule lives in :func:`validate`, which reports all problems at once, each with its
config path and the value it got. :func:`build_model` turns a valid config into plain arrays, and
:func:`draw_parameters` draws the epistemic parameters (one row per draw) through a Gaussian
copula whose correlation comes from the scenario's common factors.

Depends on numpy, scipy and omegaconf; knows nothing about kernels or xarray.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf
from scipy import optimize, special, stats

# A probability that must lie strictly inside (0, 1).
_EPS = 1e-9


class ConfigError(Exception):
    """One or more problems in the configuration; ``problems`` lists each with its path."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} error{'s' if n != 1 else ''} in the configuration:"
        super().__init__("\n".join([head] + [f"  - {p}" for p in self.problems]))


# ----------------------------------------------------------------------------------------------
# Validation: one table of rules, every problem reported.
# ----------------------------------------------------------------------------------------------


def _is_prob(x: Any) -> bool:
    return x is not None and 0.0 < float(x) < 1.0


def _check_willingness(path: str, w: Any, problems: list[str]) -> None:
    mean = w.mean
    if not _is_prob(mean):
        problems.append(f"{path}.mean must be a probability in (0, 1), got {mean}")
    if w.concentration is not None and w.interval is not None:
        problems.append(
            f"{path}: give either concentration or interval, not both "
            f"(got concentration={w.concentration}, interval={list(w.interval)})"
        )
    if w.concentration is not None and not float(w.concentration) > 0:
        problems.append(f"{path}.concentration must be > 0, got {w.concentration}")
    if w.interval is not None:
        iv = list(w.interval)
        if len(iv) != 2:
            problems.append(f"{path}.interval must be [low, high], got {iv}")
        else:
            lo, hi = iv
            if not (_is_prob(lo) and _is_prob(hi)):
                problems.append(f"{path}.interval bounds must lie in (0, 1), got {iv}")
            elif not lo < hi:
                problems.append(f"{path}.interval must be ordered (low < high), got {iv}")
            elif _is_prob(mean) and not lo < float(mean) < hi:
                problems.append(f"{path}.interval {iv} must contain the mean {mean}")


def _check_capability(path: str, c: Any, problems: list[str]) -> None:
    if not float(c.mean) > 0:
        problems.append(f"{path}.mean must be > 0, got {c.mean}")
    if not float(c.sd) >= 0:
        problems.append(f"{path}.sd must be >= 0, got {c.sd}")


def validate(cfg: DictConfig | Any) -> list[str]:
    """Check every domain rule of a run config.

    Returns
    -------
    list of str
        One message per problem, each naming its config path and the value it got. Empty when
        the config is valid.
    """
    problems: list[str] = []
    sc = cfg.scenario
    factors = set(sc.factors.keys())
    agg, tgt = sc.aggressor, sc.target
    if agg.code == tgt.code:
        problems.append(f"scenario.target.code must differ from the aggressor's, got {tgt.code}")
    for code in sc.actors:
        if code in (agg.code, tgt.code):
            problems.append(
                f"scenario.actors.{code}: a partner cannot also be the aggressor or the target"
            )
    if len(sc.actors) == 0:
        problems.append("scenario.actors must name at least one partner, got none")
    _check_capability("scenario.aggressor.capability", agg.capability, problems)
    _check_capability("scenario.target.capability", tgt.capability, problems)
    if not float(agg.prize) > 0:
        problems.append(f"scenario.aggressor.prize must be > 0, got {agg.prize}")
    if not float(agg.cost) >= 0:
        problems.append(f"scenario.aggressor.cost must be >= 0, got {agg.cost}")
    if not float(agg.decision_noise) > 0:
        problems.append(f"scenario.aggressor.decision_noise must be > 0, got {agg.decision_noise}")
    if not float(sc.contest.exponent) > 0:
        problems.append(f"scenario.contest.exponent must be > 0, got {sc.contest.exponent}")
    for code, p in sc.actors.items():
        base = f"scenario.actors.{code}"
        _check_willingness(f"{base}.willingness", p.willingness, problems)
        _check_capability(f"{base}.capability", p.capability, problems)
        ss = 0.0
        for f, v in p.loadings.items():
            if f not in factors:
                problems.append(
                    f"{base}.loadings.{f}: unknown factor '{f}' "
                    f"(declared factors: {sorted(factors) or 'none'})"
                )
            if not -1.0 <= float(v) <= 1.0:
                problems.append(f"{base}.loadings.{f} must lie in [-1, 1], got {v}")
            ss += float(v) ** 2
        if ss > 1.0 + 1e-12:
            problems.append(
                f"{base}.loadings: squared loadings sum to {ss:.3g} > 1, "
                "which is not a valid correlation"
            )
        if not float(p.perceived.noise) >= 0:
            problems.append(f"{base}.perceived.noise must be >= 0, got {p.perceived.noise}")
    s = cfg.sampler
    for key in ("draws", "realizations", "block_size"):
        if not int(s[key]) >= 1:
            problems.append(f"sampler.{key} must be >= 1, got {s[key]}")
    if s.threads is not None and not int(s.threads) >= 1:
        problems.append(f"sampler.threads must be >= 1 (or null for all cores), got {s.threads}")
    if not 0 <= int(s.seed) < 2**63:
        problems.append(f"sampler.seed must be a non-negative integer, got {s.seed}")
    return problems


def check(cfg: DictConfig | Any) -> None:
    """Raise :class:`ConfigError` listing every problem, if there is any."""
    problems = validate(cfg)
    if problems:
        raise ConfigError(problems)


# ----------------------------------------------------------------------------------------------
# Marginal beliefs
# ----------------------------------------------------------------------------------------------


def beta_concentration(mean: float, interval: list[float]) -> float:
    """Concentration kappa of Beta(mean*kappa, (1-mean)*kappa) whose 90% interval best fits."""
    lo, hi = interval

    def loss(log_k: float) -> float:
        k = math.exp(log_k)
        q = stats.beta.ppf([0.05, 0.95], mean * k, (1 - mean) * k)
        return float((q[0] - lo) ** 2 + (q[1] - hi) ** 2)

    res = optimize.minimize_scalar(loss, bounds=(math.log(0.05), math.log(1e6)), method="bounded")
    return float(math.exp(res.x))


@dataclass(frozen=True)
class Parameter:
    """One epistemic parameter: its name, config path and quantile function."""

    name: str
    path: str
    ppf: Callable[[np.ndarray], np.ndarray]
    # row of factor loadings (K,), zeros when independent
    loadings: np.ndarray

    @property
    def fixed(self) -> bool:
        q = self.ppf(np.array([0.05, 0.95]))
        return bool(q[0] == q[1])


def _willingness_ppf(w: Any) -> Callable[[np.ndarray], np.ndarray]:
    mean = float(w.mean)
    if w.interval is not None:
        k = beta_concentration(mean, list(w.interval))
    elif w.concentration is not None:
        k = float(w.concentration)
    else:
        return lambda u: np.full(np.shape(u), mean)
    a, b = mean * k, (1 - mean) * k
    return lambda u: np.clip(stats.beta.ppf(u, a, b), _EPS, 1 - _EPS)


def _lognormal_ppf(c: Any) -> Callable[[np.ndarray], np.ndarray]:
    mean, sd = float(c.mean), float(c.sd)
    if sd == 0:
        return lambda u: np.full(np.shape(u), mean)
    s2 = math.log1p((sd / mean) ** 2)
    mu = math.log(mean) - s2 / 2
    s = math.sqrt(s2)
    return lambda u: np.exp(mu + s * special.ndtri(u))


# ----------------------------------------------------------------------------------------------
# The model: validated config as arrays
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """A validated scenario as arrays. P partners, K factors."""

    scenario: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    factors: tuple[str, ...]
    aggressor: str
    target: str
    loadings: np.ndarray  # (P, K)
    idio: np.ndarray  # (P,) sqrt(1 - sum_k loadings^2)
    parameters: tuple[Parameter, ...]
    perceived_bias: np.ndarray  # (P,)
    perceived_noise: np.ndarray  # (P,)
    prize: float
    cost: float
    decision_noise: float
    exponent: float

    @property
    def n_partners(self) -> int:
        return len(self.codes)


def build_model(cfg: DictConfig | Any) -> Model:
    """Validate ``cfg`` (raising :class:`ConfigError`) and turn it into a :class:`Model`."""
    check(cfg)
    sc = cfg.scenario
    codes = tuple(sc.actors.keys())
    factors = tuple(sc.factors.keys())
    P, K = len(codes), len(factors)
    loadings = np.zeros((P, K))
    for i, code in enumerate(codes):
        for k, f in enumerate(factors):
            loadings[i, k] = float(sc.actors[code].loadings.get(f, 0.0))
    idio = np.sqrt(np.clip(1.0 - (loadings**2).sum(axis=1), 0.0, None))
    zeros = np.zeros(K)
    params: list[Parameter] = []
    for i, code in enumerate(codes):
        p = sc.actors[code]
        params.append(
            Parameter(
                f"willingness[{code}]",
                f"scenario.actors.{code}.willingness",
                _willingness_ppf(p.willingness),
                loadings[i],
            )
        )
    for code in codes:
        params.append(
            Parameter(
                f"capability[{code}]",
                f"scenario.actors.{code}.capability",
                _lognormal_ppf(sc.actors[code].capability),
                zeros,
            )
        )
    params.append(
        Parameter(
            f"capability[{sc.target.code}]",
            "scenario.target.capability",
            _lognormal_ppf(sc.target.capability),
            zeros,
        )
    )
    params.append(
        Parameter(
            f"capability[{sc.aggressor.code}]",
            "scenario.aggressor.capability",
            _lognormal_ppf(sc.aggressor.capability),
            zeros,
        )
    )
    for code in codes:
        noise = float(sc.actors[code].perceived.noise)
        params.append(
            Parameter(
                f"perception[{code}]",
                f"scenario.actors.{code}.perceived",
                # the standard-normal error of the aggressor's view; constant when noise is 0
                (lambda u: special.ndtri(u)) if noise > 0 else (lambda u: np.zeros(np.shape(u))),
                zeros,
            )
        )
    return Model(
        scenario=str(sc.name),
        codes=codes,
        names=tuple(sc.actors[c].name or c for c in codes),
        factors=factors,
        aggressor=str(sc.aggressor.code),
        target=str(sc.target.code),
        loadings=loadings,
        idio=idio,
        parameters=tuple(params),
        perceived_bias=np.array([float(sc.actors[c].perceived.bias) for c in codes]),
        perceived_noise=np.array([float(sc.actors[c].perceived.noise) for c in codes]),
        prize=float(sc.aggressor.prize),
        cost=float(sc.aggressor.cost),
        decision_noise=float(sc.aggressor.decision_noise),
        exponent=float(sc.contest.exponent),
    )


# ----------------------------------------------------------------------------------------------
# Epistemic draws
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draws:
    """Epistemic parameters, one row per draw (D draws, P partners)."""

    willingness: np.ndarray  # (D, P) our belief's draw of each partner's true willingness
    perceived: np.ndarray  # (D, P) the aggressor's view of it
    capability: np.ndarray  # (D, P)
    capability_target: np.ndarray  # (D,)
    capability_aggressor: np.ndarray  # (D,)
    values: np.ndarray  # (D, n_parameters) every parameter, in Model.parameters order

    @property
    def n_draws(self) -> int:
        return self.willingness.shape[0]


def epistemic_generator(seed: int) -> np.random.Generator:
    """The generator for epistemic draws: keyed to the run's seed only."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence([int(seed), 0])))


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
    """Assemble :class:`Draws` from parameter values (D, n_parameters), columns as in
    ``model.parameters``: willingness (P), capability (P), target, aggressor, perception (P)."""
    P = model.n_partners
    w = values[:, :P]
    perception = values[:, 2 * P + 2 : 3 * P + 2]
    logit = special.logit(w) + model.perceived_bias + model.perceived_noise * perception
    perceived = np.clip(special.expit(logit), _EPS, 1 - _EPS)
    return Draws(
        willingness=w,
        perceived=perceived,
        capability=values[:, P : 2 * P],
        capability_target=values[:, 2 * P],
        capability_aggressor=values[:, 2 * P + 1],
        values=values,
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
) -> Draws:
    """Draw ``n_draws`` epistemic parameter sets, reproducibly from ``seed``.

    Parameters
    ----------
    uniforms : (n_draws, n_parameters), optional
        Copula uniforms to use instead of random ones (e.g. 0.5 everywhere for the medians).
    fixed : dict, optional
        Parameter name -> value, held at that value in every draw (e.g. ``{"willingness[USA]":
        0.9}``); the other parameters keep their draws, so comparisons share random numbers.
    """
    u = copula_uniforms(model, n_draws, seed) if uniforms is None else np.asarray(uniforms, float)
    values = parameters_from_uniforms(model, u)
    for name, value in (fixed or {}).items():
        values[:, parameter_index(model, name)] = value
    return draws_from_values(model, values)


def to_container(cfg: DictConfig | Any) -> dict:
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)  # type: ignore[return-value]
