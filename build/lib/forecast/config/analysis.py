"""Schema of the ``analysis`` config node: what is computed and drawn besides the forecast.

Everything here is off by default except the report. Domain rules (quantiles in (0, 1), a known
belief parameter, ...) are checked by :func:`forecast.analysis.sensitivity.validate`, which names
the config
path and the value of every problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ThresholdConfig:
    """Search for the value of one belief at which a probability reaches a target.

    The search is off while ``parameter`` is null.
    """

    # the belief parameter: its config path (``scenario.actors.USA.willingness``) or its name
    # (``willingness[USA]``; quote it on the command line: 'analysis.threshold.parameter="..."')
    parameter: str | None = None
    # the level the mean over draws of ``quantity`` must reach
    target: float = 0.8
    # a per-draw probability of forecast.nc, e.g. p_deterrence, p_defense_success
    quantity: str = "p_deterrence"
    # [low, high] searched; null: (0, 1) for a willingness, else the belief's 0.1%-99.9% quantiles
    range: list[float] | None = None
    # points of the coarse grid over the range, then bisection steps in the bracketing cell
    grid: int = 9
    iterations: int = 8
    # epistemic interval of the per-draw thresholds
    level: float = 0.9


@dataclass
class AnalysisConfig:
    # write report.png and summary.csv beside forecast.nc
    report: bool = True
    # tornado (each belief at two quantiles, the others at their medians) and first-order
    # variance-based indices of P(deterrence) over the epistemic draws; writes tornado.png
    sensitivity: bool = False
    # the two quantiles of the tornado
    tornado_quantiles: list[float] = field(default_factory=lambda: [0.05, 0.95])
    # draws of realizations per tornado point (each sampler.realizations crises); all tornado
    # points share them (common random numbers)
    tornado_replicates: int = 8
    # bins of the given-data first-order estimator; null: about sqrt(draws)
    sensitivity_bins: int | None = None
    # bootstrap resamples for the indices' standard errors (0: none)
    sensitivity_bootstrap: int = 200
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
