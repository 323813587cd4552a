"""Typed configuration of the initiation ("deterrence") model and its domain rules.

Selected by ``forecast-calibrate calibration=deterrence``: ``calibration.kind`` is then
``deterrence`` and ``calibration.deterrence`` holds a :class:`DeterrenceConfig`. The shared
``validation`` block of ``forecast-calibrate`` supplies the validation options
(``validation.cut_year``, ``validation.folds`` ...). :func:`validate_deterrence` checks what
types cannot and reports every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from forecast.config.errors import ConfigError


@dataclass
class NormalPrior:
    mu: float = 0.0
    sigma: float = 1.0


@dataclass
class DeterrencePriors:
    """Priors on the standardised scale: each covariate is centred and divided by its sd in
    the fitted sample, so ``effects.sigma = 1`` says a one-sd change moves the log-odds of
    initiation by less than 2 with 95% prior probability."""

    # Log-odds of initiation at the sample's mean covariates (population scale, after the
    # case-control correction): mean -6 is about 1 in 400 dyad-years, sd 2 spans 1 in 20 to 1
    # in 20 000.
    intercept: NormalPrior = field(default_factory=lambda: NormalPrior(-6.0, 2.0))
    effects: NormalPrior = field(default_factory=lambda: NormalPrior(0.0, 1.0))
    # The cubic in peace years: the three terms are strongly correlated, so each needs room.
    peace: NormalPrior = field(default_factory=lambda: NormalPrior(0.0, 2.5))
    # Spread of the region intercepts (half-normal scale).
    region_sd: float = 0.5


@dataclass
class DeterrenceSampling:
    draws: int = 1500
    tune: int = 1000
    chains: int = 2
    cores: int = 2
    target_accept: float = 0.9
    seed: int = 20261201
    progress: bool | None = None
    # NUTS implementation: nutpie (the PyMC project's Rust NUTS, on the model compiled with
    # numba; about a tenth of the CPU time here) or pymc (PyMC's own, dense mass matrix).
    sampler: str = "nutpie"


@dataclass
class JointConfig:
    """The joint model of initiation and honouring (a shared latent alliance reliability)."""

    enabled: bool = True
    draws: int = 500
    tune: int = 500
    # Prior of the loading of initiation on the target's alliances' latent reliability:
    # negative means reliable alliances deter. Centred on 0 so the data must say which way.
    loading: NormalPrior = field(default_factory=lambda: NormalPrior(0.0, 1.0))
    # Spread of the latent reliability across alliances (half-normal scale, logit of honour).
    reliability_sd: float = 1.0
    # The judgement the estimate replaces, kept as an explicit prior where the data are silent.
    judgement_shift_mu: float = 0.5
    judgement_shift_sigma: float = 0.5


@dataclass
class DeterrenceConfig:
    # Non-events (A did not initiate against B) kept in the fitted sample; every event is kept.
    # The intercept is corrected by log(1 / control_fraction) (King & Zeng 2001).
    control_fraction: float = 0.02
    # Region intercepts of the challenger and the target (partial pooling); false: none.
    pooling: bool = True
    # Only years up to this one are fitted (null: every year with dispute data).
    last_year: int | None = None
    priors: DeterrencePriors = field(default_factory=DeterrencePriors)
    sampling: DeterrenceSampling = field(default_factory=DeterrenceSampling)
    joint: JointConfig = field(default_factory=JointConfig)
    rhat_max: float = 1.01
    ess_min: float = 400.0
    # Years of the within-horizon table printed by the posterior's command.
    horizons: list[int] = field(default_factory=lambda: [1, 5, 10])


_RULES = (
    ("control_fraction", lambda v: 0 < v <= 1, "in (0, 1]"),
    ("priors.intercept.sigma", lambda v: v > 0, "> 0"),
    ("priors.effects.sigma", lambda v: v > 0, "> 0"),
    ("priors.peace.sigma", lambda v: v > 0, "> 0"),
    ("priors.region_sd", lambda v: v > 0, "> 0"),
    ("sampling.draws", lambda v: v >= 1, "an integer >= 1"),
    ("sampling.tune", lambda v: v >= 0, "an integer >= 0"),
    ("sampling.chains", lambda v: v >= 1, "an integer >= 1"),
    ("sampling.cores", lambda v: v >= 1, "an integer >= 1"),
    ("sampling.target_accept", lambda v: 0 < v < 1, "in (0, 1)"),
    ("sampling.sampler", lambda v: v in ("nutpie", "pymc"), "nutpie or pymc"),
    ("joint.draws", lambda v: v >= 1, "an integer >= 1"),
    ("joint.tune", lambda v: v >= 0, "an integer >= 0"),
    ("joint.loading.sigma", lambda v: v > 0, "> 0"),
    ("joint.reliability_sd", lambda v: v > 0, "> 0"),
    ("joint.judgement_shift_sigma", lambda v: v >= 0, ">= 0"),
    ("rhat_max", lambda v: v > 1, "> 1"),
    ("ess_min", lambda v: v > 0, "> 0"),
    ("horizons", lambda v: len(v) > 0 and all(int(h) >= 1 for h in v), "years >= 1"),
)
_VALIDATION_RULES = (
    ("cut_year", lambda v: 1817 <= v <= 2009, "a year in 1817-2009 (dispute data 1816-2010)"),
    ("folds", lambda v: v >= 2, "an integer >= 2"),
    ("fold_draws", lambda v: v >= 1, "an integer >= 1"),
    ("fold_tune", lambda v: v >= 0, "an integer >= 0"),
    ("reliability_bins", lambda v: v >= 2, "an integer >= 2"),
    ("sbc_simulations", lambda v: v >= 0, "an integer >= 0"),
    ("sbc_draws", lambda v: v >= 10, "an integer >= 10"),
)


def _get(node: Any, path: str) -> Any:
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def validate_deterrence(cfg: Any) -> None:
    """Check the domain rules of a ``forecast-calibrate calibration=deterrence`` config.

    Raises
    ------
    ConfigError
        One line per problem, each naming its config path and value.
    """
    problems = []
    det = _get(cfg, "calibration.deterrence")
    if det is None:
        raise ConfigError(["calibration.deterrence is missing: use calibration=deterrence"])
    for prefix, node, rules in (
        ("calibration.deterrence", det, _RULES),
        ("validation", _get(cfg, "validation"), _VALIDATION_RULES),
    ):
        for path, ok, expect in rules:
            value = _get(node, path)
            if not ok(value):
                problems.append(f"{prefix}.{path} = {value}: expected {expect}")
    last = _get(det, "last_year")
    if last is not None and not 1817 <= last <= 2010:
        problems.append(f"calibration.deterrence.last_year = {last}: expected a year in 1817-2010")
    if problems:
        raise ConfigError(problems)
