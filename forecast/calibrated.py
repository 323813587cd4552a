"""Willingness from the calibration posterior (``beliefs.source=calibrated``).

Each epistemic draw takes every partner's willingness from a posterior predictive draw of the
historical model for one new war (a war effect shared by all partners, which correlates them),
given the commitment type and covariates stated in the scenario. Scenario judgement can still
move it, explicitly, by ``scenario.actors.<CODE>.willingness.calibrated_shift`` on the logit
scale. The config's Beta belief and factor loadings of willingness are then not used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

from forecast.validation import ConfigError


def partner_covariates(cfg: Any, codes: tuple[str, ...]) -> list[dict]:
    """The covariate dicts :func:`forecast.calibration.predict_willingness` expects."""
    out = []
    for code in codes:
        p = cfg.scenario.actors[code]
        cov = p.covariates
        out.append(
            {
                "commitment": str(getattr(p.commitment, "value", p.commitment)),
                "post1945": bool(cov.post1945),
                "multilateral": bool(cov.multilateral),
                **{
                    k: (None if cov[k] is None else float(cov[k]))
                    for k in ("milinst", "formal", "chcap2d", "dinstch2", "origtar1")
                },
            }
        )
    return out


def calibrated_willingness(cfg: Any, model: Any, n_draws: int, seed: int) -> np.ndarray:
    """(n_draws, P) willingness draws from the posterior named by ``calibration.posterior``."""
    path = cfg.calibration.posterior
    if path is None:
        raise ConfigError(
            [
                "calibration.posterior must name a posterior.nc written by forecast-calibrate "
                "when beliefs.source=calibrated, got null"
            ]
        )
    if not Path(path).is_file():
        raise ConfigError([f"calibration.posterior: no such file, got {path}"])
    from forecast.calibration import predict_willingness

    w = predict_willingness(path, partner_covariates(cfg, model.codes), n_draws, seed)
    shift = np.array(
        [float(cfg.scenario.actors[c].willingness.calibrated_shift) for c in model.codes]
    )
    return special.expit(special.logit(w) + shift)
