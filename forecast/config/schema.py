"""Typed configuration: plain dataclasses registered in Hydra's ConfigStore.

Hydra rejects unknown keys and wrong types against these schemas. Domain rules (probabilities in
(0, 1), ordered intervals, existing actors, valid correlations, ...) are checked in one place,
:func:`forecast.model.beliefs.validate`, which reports every problem at once.

Nothing here instantiates a ``_target_``: a scenario file is data and can never run code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from forecast.config.analysis import AnalysisConfig
from forecast.config.executor import ExecutorConfig


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


class McseScope(Enum):
    """Which Monte Carlo standard errors the precision stopping rule bounds."""

    overall = "overall"  # of each probability's mean over the draws (the reported estimate)
    draw = "draw"  # of each probability within every draw


class BeliefSource(Enum):
    """Where partners' willingness (``beliefs.source``) or the aggressor's rate of crises
    (``beliefs.aggressor_source``) comes from: the scenario's stated beliefs or a posterior."""

    config = "config"
    calibrated = "calibrated"


class DeterrencePacts(Enum):
    """The target's defence pacts in the calibrated crisis rate (``calibration.deterrence_pacts``).

    ``none``: the rate the target would face without defence pacts, so that the coalition's
    deterrence enters once, through the crisis model's partners; ``observed``: the dyad-year's
    own pacts (their deterrent effect then enters twice).
    """

    none = "none"
    observed = "observed"


@dataclass
class ExpertConfig:
    """One expert's elicited quantiles {probability level: value}, and the expert's pool weight."""

    name: str = ""
    weight: float = 1.0
    quantiles: dict[float, float] = field(default_factory=dict)


@dataclass
class WillingnessBelief:
    """Belief about the probability that a partner honours its commitment.

    A Beta distribution with the given ``mean``. Its spread is either ``concentration``
    (alpha + beta) or a 90% ``interval`` [q05, q95]; give neither for a known value. Instead of
    a mean, give an expert's ``quantiles`` or several ``experts`` (linear pool); the Beta is then
    fitted to them (:mod:`forecast.config.elicitation`).
    """

    mean: float = MISSING
    concentration: float | None = None
    interval: list[float] | None = None
    quantiles: dict[float, float] | None = None
    experts: list[ExpertConfig] | None = None
    # with beliefs.source=calibrated: explicit judgement added to the calibrated draws (logit)
    calibrated_shift: float = 0.0


@dataclass
class CapabilityBelief:
    """Belief about a non-negative quantity: military power available to the theatre (in
    arbitrary common units), or the aggressor's prize, cost of war and decision noise, or the
    rate of crises.

    Log-normal with the given ``mean`` and standard deviation ``sd`` (``sd: 0`` is a known value).
    Written ``{mean: 0.65, sd: 0.1}`` in a file, ``path.mean=0.65`` on the command line.
    Instead, ``quantiles`` or ``experts`` (as for willingness) give a fitted log-normal.
    """

    mean: float = MISSING
    sd: float = 0.0
    quantiles: dict[float, float] | None = None
    experts: list[ExpertConfig] | None = None


def _known(mean: float):
    return field(default_factory=lambda: CapabilityBelief(mean=mean))


@dataclass
class PerceptionConfig:
    """How the aggressor perceives a partner's willingness, on the logit scale.

    logit(perceived) = logit(ours) + bias + noise * N(0, 1). Defaults: perceived equals ours.
    """

    bias: float = 0.0
    noise: float = 0.0


@dataclass
class DelayBelief:
    """Days from the attack until the partner's forces arrive.

    Log-normal epistemic belief ``{mean, sd}``; ``spread`` is the aleatory log-sd from crisis to
    crisis (0: the draw's delay holds in every crisis).
    """

    mean: float = 0.0
    sd: float = 0.0
    spread: float = 0.0


@dataclass
class EngagedConfig:
    """Competing commitments: the partner may be engaged in another theatre."""

    probability: float = 0.0
    # share of its capability still available here when engaged
    capability_factor: float = 1.0
    # probit shift of its willingness when engaged (negative: less will)
    willingness_shift: float = 0.0


@dataclass
class CovariatesConfig:
    """Historical covariates of the commitment, for calibrated willingness (see calibration)."""

    post1945: bool = True
    multilateral: bool = False
    milinst: float | None = None
    formal: float | None = None
    chcap2d: float | None = None
    dinstch2: float | None = None
    origtar1: float | None = None
    # Partner- and alliance-level covariates (forecast.calibration.covariates); None: unknown,
    # the model then uses the training mean. Used when the posterior was fitted with them.
    major: float | None = None
    capability: float | None = None
    threat: float | None = None
    rival: float | None = None
    conditions: float | None = None
    specific_threat: float | None = None
    military_contact: float | None = None


@dataclass
class PartnerConfig:
    name: str = ""
    commitment: Commitment = Commitment.defense
    willingness: WillingnessBelief = field(default_factory=WillingnessBelief)
    capability: CapabilityBelief = field(default_factory=CapabilityBelief)
    loadings: dict[str, float] = field(default_factory=dict)
    perceived: PerceptionConfig = field(default_factory=PerceptionConfig)
    # willingness multiplier by attack type (missing types: 1)
    type_willingness: dict[str, float] = field(default_factory=dict)
    # P(recognising the attack type as aggression) by attack type (missing types: 1)
    attribution: dict[str, float] = field(default_factory=dict)
    # acts only if all of these partners act
    requires: list[str] = field(default_factory=list)
    # probit shift of willingness when the named partner acts
    follows: dict[str, float] = field(default_factory=dict)
    # probit shift per unit share of partner power already committed (>= 0 lowers willingness)
    buck_passing: float = 0.0
    delay: DelayBelief = field(default_factory=DelayBelief)
    engaged: EngagedConfig = field(default_factory=EngagedConfig)
    # chain-ganging: P(drawn in | the named ally acts), for commitments between partners
    allies: dict[str, float] = field(default_factory=dict)
    # share of capability usable when the named partner does not act (e.g. basing access)
    access: dict[str, float] = field(default_factory=dict)
    # the aggressor's extra cost of war when this partner joins (units of the prize)
    cost_to_aggressor: float = 0.0
    # kinds of help besides troops: access, arms, sanctions (docs/war.md)
    contributions: dict[str, HelpConfig] = field(default_factory=dict)
    covariates: CovariatesConfig = field(default_factory=CovariatesConfig)
    source: str = ""


class Rule(Enum):
    """How an institution decides on a mandate."""

    individual = "individual"
    unanimity = "unanimity"
    consensus = "consensus"
    qualified_majority = "qualified_majority"
    veto = "veto"


@dataclass
class InstitutionConfig:
    """An institution whose collective decision shifts its members' willingness."""

    name: str = ""
    # state codes: partners, the aggressor, or other states (which then need a vote entry)
    members: list[str] = field(default_factory=list)
    rule: Rule = Rule.individual
    # qualified_majority / veto: yes votes needed
    k: int = 0
    # veto: members whose "no" blocks the mandate
    veto: list[str] = field(default_factory=list)
    # P(member votes yes); partners default to their drawn willingness, the aggressor to 0
    vote: dict[str, float] = field(default_factory=dict)
    # consensus: P(a member that does not vote yes stays silent rather than objecting)
    abstain: float = 0.0
    # probit shift of members' willingness with a mandate, and without one (not added to a
    # member whose willingness is calibrated: for it only a mandate triggers the commitment)
    mandate_shift: float = 0.0
    no_mandate_shift: float = 0.0
    # correlation in [0, 1] of a partner's vote with its own latent resolve (Gaussian copula):
    # 1, the vote is its resolve against its vote threshold; 0, votes independent of resolve
    vote_correlation: float = 1.0


@dataclass
class PhaseConfig:
    """One phase of the war (docs/war.md): the first lasts the fait-accompli time, each later one
    its ``duration`` in days; with ``fait_accompli`` the aggressor holding the objective at the
    phase's end wins the war."""

    name: str = MISSING
    duration: float | None = None
    fait_accompli: bool = True


@dataclass
class WarConfig:
    """The war as a process: its phases (empty: one, the model without phases) and the attrition
    lambda in [0, 1) between them."""

    attrition: float = 0.0
    phases: list[PhaseConfig] = field(default_factory=list)


@dataclass
class HelpConfig:
    """One kind of help a partner may give besides its troops (``access``, ``arms``,
    ``sanctions``): its own willingness, and the correlation of that decision with the partner's
    resolve. ``amount`` and ``from_phase`` are for arms, ``cost`` for sanctions."""

    willingness: WillingnessBelief = field(default_factory=WillingnessBelief)
    correlation: float = 1.0
    amount: CapabilityBelief = _known(0.0)
    from_phase: int = 1
    cost: float = 0.0


@dataclass
class ResolveConfig:
    """P(the target keeps fighting through a phase) at an even balance, and the slope of its
    log-odds in log(D / A). No mean (the default): the target always fights."""

    probability: WillingnessBelief = field(default_factory=WillingnessBelief)
    balance_slope: float = 0.0


@dataclass
class EscalationConfig:
    """P(the war crosses the threshold in a phase) when the aggressor surely loses it, and the
    probit shift on partners' thresholds to stay in when it does. No mean: no escalation."""

    description: str = ""
    probability: WillingnessBelief = field(default_factory=WillingnessBelief)
    willingness_shift: float = 0.0


@dataclass
class AttackTypeConfig:
    description: str = ""
    # P(this type of attack is the option on the table); ignored when the aggressor chooses
    probability: float = 1.0
    # prize, cost and decision noise of this type (beliefs {mean, sd}); with no mean given (the
    # default, ???): the aggressor's. (Not null: Hydra cannot set `prize.mean=...` under a null.)
    prize: CapabilityBelief = field(default_factory=CapabilityBelief)
    cost: CapabilityBelief = field(default_factory=CapabilityBelief)
    decision_noise: CapabilityBelief = field(default_factory=CapabilityBelief)
    # this type's balance (docs/war.md): the aggressor's power (no mean: the aggressor's), the
    # contest exponent and the phases (null: contest.exponent, war.phases)
    capability: CapabilityBelief = field(default_factory=CapabilityBelief)
    exponent: float | None = None
    phases: list[PhaseConfig] | None = None


@dataclass
class TargetConfig:
    code: str = MISSING
    name: str = ""
    capability: CapabilityBelief = field(default_factory=CapabilityBelief)
    resolve: ResolveConfig = field(default_factory=ResolveConfig)


@dataclass
class AggressorConfig:
    code: str = MISSING
    name: str = ""
    capability: CapabilityBelief = field(default_factory=CapabilityBelief)
    # Beliefs {mean, sd} (sd 0: known), drawn once per epistemic draw.
    # Value of the prize, in units where the status quo is 0.
    prize: CapabilityBelief = _known(1.0)
    # Expected cost of fighting, same units as the prize.
    cost: CapabilityBelief = _known(0.3)
    # Scale of the logistic noise on the attack decision (> 0).
    decision_noise: CapabilityBelief = _known(0.1)
    # true: the aggressor picks the attack type with the best perceived value
    choose_type: bool = False
    # days until the aggressor presents a fait accompli; 0 (default): no time limit
    fait_accompli: DelayBelief = field(default_factory=DelayBelief)


@dataclass
class HorizonConfig:
    """The time over which P(attack within the horizon) is reported.

    Crises in which the aggressor weighs an attack arrive as a Poisson process with rate
    ``opportunities_per_year`` (a belief {mean, sd}); each is an independent attack decision.
    """

    years: float = 1.0
    opportunities_per_year: CapabilityBelief = _known(1.0)


@dataclass
class FactorConfig:
    description: str = ""


@dataclass
class ContestConfig:
    # Exponent m of the contest-success function P = C^m / (C^m + A^m).
    exponent: float = 1.0


@dataclass
class OutcomeConfig:
    """What happened: used only to score a forecast, never read by the model. null: not scored."""

    attack: bool | None = None
    # partner code -> it joined the defence (scored only when the attack happened)
    join: dict[str, bool] = field(default_factory=dict)
    defense_success: bool | None = None
    # institution name -> it gave a mandate for collective military action
    mandate: dict[str, bool] = field(default_factory=dict)
    source: str = ""


@dataclass
class BacktestConfig:
    """A historical case of the backtest: the crisis date (ISO) and its outcome on record."""

    # the information cut-off: every source of the case is dated before it
    crisis_date: str = ""
    outcome: OutcomeConfig = field(default_factory=OutcomeConfig)


@dataclass
class ScenarioConfig:
    name: str = MISSING
    description: str = ""
    aggressor: AggressorConfig = field(default_factory=AggressorConfig)
    target: TargetConfig = field(default_factory=TargetConfig)
    actors: dict[str, PartnerConfig] = field(default_factory=dict)
    factors: dict[str, FactorConfig] = field(default_factory=dict)
    contest: ContestConfig = field(default_factory=ContestConfig)
    # empty: a single attack type named "attack"
    attack_types: dict[str, AttackTypeConfig] = field(default_factory=dict)
    institutions: dict[str, InstitutionConfig] = field(default_factory=dict)
    # share of their power that forces arriving after the fait accompli still count for
    late_discount: float = 0.5
    war: WarConfig = field(default_factory=WarConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    horizon: HorizonConfig = field(default_factory=HorizonConfig)
    # backtest cases only (configs/scenario/backtest_*.yaml); the model never reads it
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    # the year the scenario describes; beliefs.aggressor_source=calibrated takes the dyad's
    # covariates from it (null: the year of backtest.crisis_date, if any)
    year: int | None = None


@dataclass
class SamplerConfig:
    draws: int = 1000
    realizations: int = 10000
    seed: int = 0
    # null means all cores
    threads: int | None = None
    backend: Backend = Backend.numba
    # realizations per block; each (draw, block) has its own random stream
    block_size: int = 10000
    progress: bool | None = None
    # precision stopping rule: add a block of realizations to every draw until every reported
    # probability's MCSE is at most target_mcse (null: run sampler.realizations, no rule)
    target_mcse: float | None = None
    target_mcse_scope: McseScope = McseScope.overall
    # caps of the stopping rule: realizations per draw, and wall-clock seconds (null: none)
    max_realizations: int = 10_000_000
    max_seconds: float | None = None


@dataclass
class BeliefsConfig:
    # partners' willingness: the scenario's beliefs, or calibration.posterior
    source: BeliefSource = BeliefSource.config
    # the aggressor's crises per year: scenario.horizon.opportunities_per_year, or each draw's
    # annual dispute propensity from calibration.deterrence_posterior (docs/deterrence.md)
    aggressor_source: BeliefSource = BeliefSource.config


@dataclass
class PosteriorLinkConfig:
    """The calibration posteriors: willingness with ``beliefs.source=calibrated``, the
    aggressor's crisis rate with ``beliefs.aggressor_source=calibrated``."""

    # posterior.nc written by forecast-calibrate
    posterior: str | None = None
    # posterior.nc written by forecast-calibrate calibration=deterrence (the initiation model)
    deterrence_posterior: str | None = None
    # the target's defence pacts in the calibrated crisis rate: none (default) or observed
    deterrence_pacts: DeterrencePacts = DeterrencePacts.none
    # the historical data the dyad's covariates are joined from (null: $FORECAST_DATA_DIR)
    data_dir: str | None = None


@dataclass
class OutputConfig:
    filename: str = "forecast.nc"


@dataclass
class RunConfig:
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    beliefs: BeliefsConfig = field(default_factory=BeliefsConfig)
    calibration: PosteriorLinkConfig = field(default_factory=PosteriorLinkConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)


def register_configs() -> None:
    """Register the schemas so that ``configs/run.yaml`` and the groups are type-checked."""
    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunConfig)
    cs.store(group="scenario", name="scenario_schema", node=ScenarioConfig)
    cs.store(group="sampler", name="sampler_schema", node=SamplerConfig)
