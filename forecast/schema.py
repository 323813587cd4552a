"""Typed configuration: plain dataclasses registered in Hydra's ConfigStore.

Hydra rejects unknown keys and wrong types against these schemas. Domain rules (probabilities in
(0, 1), ordered intervals, existing actors, valid correlations, ...) are checked in one place,
:func:`forecast.beliefs.validate`, which reports every problem at once.

Nothing here instantiates a ``_target_``: a scenario file is data and can never run code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from forecast.analysis_schema import AnalysisConfig
from forecast.executor_schema import ExecutorConfig


class Commitment(Enum):
    """Type of a partner's commitment to the target (ATOP obligation types)."""

    defense = "defense"
    offense = "offense"
    neutrality = "neutrality"
    consultation = "consultation"
    ambiguous = "ambiguous"
    none = "none"


class Backend(Enum):
    numba = "numba"
    numpy = "numpy"


class BeliefSource(Enum):
    """Where partners' willingness comes from: the scenario's stated beliefs or a posterior."""

    config = "config"
    calibrated = "calibrated"


@dataclass
class WillingnessBelief:
    """Belief about the probability that a partner honours its commitment.

    A Beta distribution with the given ``mean``. Its spread is either ``concentration``
    (alpha + beta) or a 90% ``interval`` [q05, q95]; give neither for a known value.
    """

    mean: float = MISSING
    concentration: Optional[float] = None
    interval: Optional[List[float]] = None


@dataclass
class CapabilityBelief:
    """Belief about military power available to the theatre, in arbitrary common units.

    Log-normal with the given ``mean`` and standard deviation ``sd`` (``sd: 0`` is a known value).
    """

    mean: float = MISSING
    sd: float = 0.0


@dataclass
class PerceptionConfig:
    """How the aggressor perceives a partner's willingness, on the logit scale.

    logit(perceived) = logit(ours) + bias + noise * N(0, 1). Defaults: perceived equals ours.
    """

    bias: float = 0.0
    noise: float = 0.0


@dataclass
class PartnerConfig:
    name: str = ""
    commitment: Commitment = Commitment.defense
    willingness: WillingnessBelief = field(default_factory=WillingnessBelief)
    capability: CapabilityBelief = field(default_factory=CapabilityBelief)
    loadings: Dict[str, float] = field(default_factory=dict)
    perceived: PerceptionConfig = field(default_factory=PerceptionConfig)
    source: str = ""


@dataclass
class TargetConfig:
    code: str = MISSING
    name: str = ""
    capability: CapabilityBelief = field(default_factory=CapabilityBelief)


@dataclass
class AggressorConfig:
    code: str = MISSING
    name: str = ""
    capability: CapabilityBelief = field(default_factory=CapabilityBelief)
    # Value of the prize, in units where the status quo is 0.
    prize: float = 1.0
    # Expected cost of fighting, same units as the prize.
    cost: float = 0.3
    # Scale of the logistic noise on the attack decision (> 0).
    decision_noise: float = 0.1


@dataclass
class FactorConfig:
    description: str = ""


@dataclass
class ContestConfig:
    # Exponent m of the contest-success function P = C^m / (C^m + A^m).
    exponent: float = 1.0


@dataclass
class ScenarioConfig:
    name: str = MISSING
    description: str = ""
    aggressor: AggressorConfig = field(default_factory=AggressorConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    actors: Dict[str, PartnerConfig] = field(default_factory=dict)
    factors: Dict[str, FactorConfig] = field(default_factory=dict)
    contest: ContestConfig = field(default_factory=ContestConfig)


@dataclass
class SamplerConfig:
    draws: int = 1000
    realizations: int = 10000
    seed: int = 0
    # null means all cores
    threads: Optional[int] = None
    backend: Backend = Backend.numba
    # realizations per block; each (draw, block) has its own random stream
    block_size: int = 10000
    progress: Optional[bool] = None


@dataclass
class BeliefsConfig:
    source: BeliefSource = BeliefSource.config


@dataclass
class OutputConfig:
    filename: str = "forecast.nc"


@dataclass
class RunConfig:
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    beliefs: BeliefsConfig = field(default_factory=BeliefsConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)


def register_configs() -> None:
    """Register the schemas so that ``configs/run.yaml`` and the groups are type-checked."""
    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunConfig)
    cs.store(group="scenario", name="scenario_schema", node=ScenarioConfig)
    cs.store(group="sampler", name="sampler_schema", node=SamplerConfig)
