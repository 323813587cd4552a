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

from forecast.config import ConfigError


def partner_covariates(cfg: Any, codes: tuple[str, ...]) -> list[dict]:
    """The covariate dicts :func:`forecast.calibration.fit.predict_willingness` expects: each
    partner's own commitment type and covariates, as its scenario file states them."""
    from forecast.calibration.covariates import EXTRA_COVARIATES

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
                # Partner- and alliance-level covariates, where the schema has them.
                **{
                    k: (None if cov.get(k) is None else float(cov.get(k)))
                    for k in EXTRA_COVARIATES
                    if k in cov
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
    from forecast.calibration.fit import predict_willingness

    w = predict_willingness(path, partner_covariates(cfg, model.codes), n_draws, seed)
    shift = np.array(
        [float(cfg.scenario.actors[c].willingness.calibrated_shift) for c in model.codes]
    )
    return special.expit(special.logit(w) + shift)


def calibrated_table(posterior: str, overrides: list[str], n_draws: int = 4000, seed: int = 1):
    """Rows (code, commitment, mean, q05, q95) of the calibrated willingness of a scenario."""
    from forecast.config.loading import load_config
    from forecast.model.beliefs import build_model

    cfg = load_config(overrides)
    model = build_model(cfg)
    linked = [*overrides, "beliefs.source=calibrated", f"calibration.posterior={posterior}"]
    w = calibrated_willingness(load_config(linked), model, n_draws, seed)
    covariates = partner_covariates(cfg, model.codes)
    return [
        (code, cov["commitment"], float(w[:, i].mean()), *np.quantile(w[:, i], [0.05, 0.95]))
        for i, (code, cov) in enumerate(zip(model.codes, covariates, strict=True))
    ]


def main(argv: list[str] | None = None) -> None:
    """``python -m forecast.calibration.willingness POSTERIOR [overrides...]``: a scenario's
    calibrated
    willingness, the numbers quoted in the scenario files."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(
            "usage: python -m forecast.calibration.willingness POSTERIOR [scenario=NAME ...]",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        rows = calibrated_table(args[0], args[1:])
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"{'partner':<8}{'commitment':<14}{'mean':>6}{'90% interval':>18}")
    for code, commitment, mean, lo, hi in rows:
        print(f"{code:<8}{commitment:<14}{mean:>6.2f}{f'[{lo:.2f}, {hi:.2f}]':>18}")


if __name__ == "__main__":
    main()
