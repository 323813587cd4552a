"""Typed configuration of ``forecast-calibrate`` and its one table of domain rules.

Plain dataclasses registered in Hydra's ConfigStore: Hydra rejects unknown keys and wrong types.
:func:`validate_config` checks what types cannot (positive scales, known distributions, ...) and
reports every problem at once, each with its config path and the value it got.

Priors are data: ``priors.intercept: {dist: Normal, mu: 0, sigma: 1.5}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from forecast.config.deterrence import DeterrenceConfig
from forecast.config.errors import ConfigError

#: The calibration config's errors are :class:`~forecast.config.errors.ConfigError` (one error
#: type for every configuration); the old name stays importable.
CalibrationConfigError = ConfigError


@dataclass
class PriorConfig:
    """A prior as data. Which parameters apply depends on ``dist`` (see :data:`PRIOR_PARAMS`)."""

    dist: str = "Normal"
    mu: float | None = None
    sigma: float | None = None
    nu: float | None = None
    lam: float | None = None
    alpha: float | None = None


#: Parameters each distribution needs, and which slot kinds accept it.
PRIOR_PARAMS = {
    "Normal": ("mu", "sigma"),
    "StudentT": ("nu", "mu", "sigma"),
    "HalfNormal": ("sigma",),
    "HalfStudentT": ("nu", "sigma"),
    "Exponential": ("lam",),
    "Dirichlet": ("alpha",),
}
_REAL = ("Normal", "StudentT")
_POSITIVE = ("HalfNormal", "HalfStudentT", "Exponential")
_SIMPLEX = ("Dirichlet",)


@dataclass
class PriorsConfig:
    """Priors of the hierarchical logit (all on the logit scale)."""

    # Log-odds of honouring for a pre-1945 bilateral alliance with no listed obligation; 1.5 keeps
    # 95% of the prior mass of P between 0.05 and 0.95.
    intercept: PriorConfig = field(default_factory=lambda: PriorConfig("Normal", mu=0.0, sigma=1.5))
    # Era, commitment-type and multilateral effects.
    effects: PriorConfig = field(default_factory=lambda: PriorConfig("Normal", mu=0.0, sigma=1.0))
    # Half the difference between the two datasets' outcome codings (LA minus BF).
    source: PriorConfig = field(default_factory=lambda: PriorConfig("Normal", mu=0.0, sigma=0.5))
    # Leeds-Anac covariates (milinst, formal, chcap2d, dinstch2, origtar1).
    la_covariates: PriorConfig = field(
        default_factory=lambda: PriorConfig("Normal", mu=0.0, sigma=1.0)
    )
    # Spread of the war effects: how much cases in one war move together.
    war_sd: PriorConfig = field(default_factory=lambda: PriorConfig("HalfNormal", sigma=1.0))
    # Distribution of each Leeds-Anac covariate by era, used where it is unknown.
    imputation: PriorConfig = field(default_factory=lambda: PriorConfig("Dirichlet", alpha=1.0))


@dataclass
class SamplingConfig:
    draws: int = 2000
    tune: int = 1000
    chains: int = 2
    cores: int = 2
    target_accept: float = 0.9
    seed: int = 20261122
    # null: show PyMC's progress bar only on a terminal
    progress: bool | None = None


@dataclass
class DiagnosticsConfig:
    rhat_max: float = 1.01
    ess_min: float = 400.0


@dataclass
class SelectionConfig:
    """Optional correction for selection on deterrence failure, on the logit scale.

    ``predict_willingness`` adds ``shift ~ Normal(shift_mu, shift_sigma)`` (one per draw) to the
    log-odds of honouring in a new crisis. ``0, 0`` (the default) means no correction.
    """

    shift_mu: float = 0.0
    shift_sigma: float = 0.0


#: Extra covariates a model may use (see forecast.calibration.covariates).
EXTRA_COVARIATE_NAMES = (
    "major",
    "capability",
    "threat",
    "rival",
    "conditions",
    "specific_threat",
    "military_contact",
)


@dataclass
class CalibrationModelConfig:
    # which calibration this is; forecast.jobs.calibrate.KINDS lists the kinds
    kind: str = "honour"
    # partner- and alliance-level covariates added to the model (default: none; see
    # docs/calibration.md for the cross-validation that chose this)
    extra_covariates: list[str] = field(default_factory=list)
    # options of the initiation model when kind is "deterrence" (calibration/deterrence.yaml)
    deterrence: DeterrenceConfig | None = None
    priors: PriorsConfig = field(default_factory=PriorsConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    diagnostics: DiagnosticsConfig = field(default_factory=DiagnosticsConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)


@dataclass
class ValidationConfig:
    enabled: bool = True
    # grouped-by-war cross-validation
    folds: int = 5
    fold_seed: int = 5
    fold_draws: int = 1000
    fold_tune: int = 1000
    # kept for old configs; the CORP reliability diagram needs no bins
    reliability_bins: int = 5
    # resamples of the CORP consistency band
    corp_resamples: int = 1000
    # also cross-validate every model variant of forecast.calibration.comparison.VARIANTS
    variants: bool = False
    # simulation-based calibration (0 turns it off)
    sbc_simulations: int = 100
    sbc_draws: int = 200
    sbc_tune: int = 300
    sbc_seed: int = 11
    # calibration=deterrence: fit the years up to this one, score the later ones
    cut_year: int = 1990


@dataclass
class CalibrateConfig:
    # directory of the data files; null: $FORECAST_DATA_DIR
    data_dir: str | None = None
    # optional CSV (Leeds-Anac or Berkemeier-Fuhrmann format) to predict
    predict: str | None = None
    # optional existing posterior.nc to reuse instead of fitting (e.g. to predict another file)
    posterior: str | None = None
    posterior_file: str = "posterior.nc"
    # outcome coding of predictions: "own" (each row in its file's coding: Leeds-Anac rows as
    # Leeds-Anac code them, Berkemeier-Fuhrmann rows as they do) or "midpoint" of the two
    coding: str = "own"
    calibration: CalibrationModelConfig = field(default_factory=CalibrationModelConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)


def register_configs() -> None:
    """Register the schema that ``configs/calibrate.yaml`` extends."""
    ConfigStore.instance().store(name="calibrate_schema", node=CalibrateConfig)


def _get(cfg: Any, name: str) -> Any:
    return cfg[name] if isinstance(cfg, dict) else getattr(cfg, name)


def _check_prior(path: str, prior: Any, kinds: tuple[str, ...]) -> list[str]:
    dist = _get(prior, "dist")
    if dist not in kinds:
        return [f"{path}.dist = {dist!r}: expected one of {', '.join(kinds)}"]
    problems = []
    for name in PRIOR_PARAMS[dist]:
        value = _get(prior, name)
        if value is None:
            problems.append(f"{path}.{name} is missing: {dist} needs {PRIOR_PARAMS[dist]}")
        elif name != "mu" and not value > 0:
            problems.append(f"{path}.{name} = {value}: must be > 0")
    return problems


# One table of domain rules: (config path, predicate, expectation).
_RULES = (
    ("calibration.sampling.draws", lambda v: v >= 1, "an integer >= 1"),
    ("calibration.sampling.tune", lambda v: v >= 0, "an integer >= 0"),
    ("calibration.sampling.chains", lambda v: v >= 1, "an integer >= 1"),
    ("calibration.sampling.cores", lambda v: v >= 1, "an integer >= 1"),
    ("calibration.sampling.target_accept", lambda v: 0 < v < 1, "in (0, 1)"),
    ("calibration.diagnostics.rhat_max", lambda v: v > 1, "> 1"),
    ("calibration.diagnostics.ess_min", lambda v: v > 0, "> 0"),
    ("calibration.selection.shift_sigma", lambda v: v >= 0, ">= 0"),
    ("validation.folds", lambda v: v >= 2, "an integer >= 2"),
    ("validation.fold_draws", lambda v: v >= 1, "an integer >= 1"),
    ("validation.fold_tune", lambda v: v >= 0, "an integer >= 0"),
    ("validation.reliability_bins", lambda v: v >= 2, "an integer >= 2"),
    ("validation.sbc_simulations", lambda v: v >= 0, "an integer >= 0"),
    ("validation.sbc_draws", lambda v: v >= 10, "an integer >= 10"),
    ("validation.sbc_tune", lambda v: v >= 0, "an integer >= 0"),
    ("validation.corp_resamples", lambda v: v >= 10, "an integer >= 10"),
    ("coding", lambda v: v in ("own", "midpoint"), "one of own, midpoint"),
)

_PRIOR_KINDS = {
    "intercept": _REAL,
    "effects": _REAL,
    "source": _REAL,
    "la_covariates": _REAL,
    "war_sd": _POSITIVE,
    "imputation": _SIMPLEX,
}


def validate_config(cfg: Any) -> None:
    """Check every domain rule of a :class:`CalibrateConfig` (or DictConfig) at once.

    Raises
    ------
    ConfigError
        ``"N errors in the configuration: ..."``, one line per problem, each naming
        its config path and value.
    """
    problems = []
    for path, ok, expect in _RULES:
        node = cfg
        for part in path.split("."):
            node = _get(node, part)
        if not ok(node):
            problems.append(f"{path} = {node}: expected {expect}")
    for i, name in enumerate(_get(_get(cfg, "calibration"), "extra_covariates")):
        if name not in EXTRA_COVARIATE_NAMES:
            problems.append(
                f"calibration.extra_covariates[{i}] = {name!r}: expected one of "
                f"{', '.join(EXTRA_COVARIATE_NAMES)}"
            )
    priors = _get(_get(cfg, "calibration"), "priors")
    for name, kinds in _PRIOR_KINDS.items():
        problems += _check_prior(f"calibration.priors.{name}", _get(priors, name), kinds)
    if problems:
        raise ConfigError(problems)
