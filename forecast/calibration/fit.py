"""Hierarchical logit of P(honour) on the historical record: build, fit, predict.

The model, for case ``i`` in war ``w[i]``::

    logit P(honour_i) = alpha + x_i . beta + s_i * delta + u_w[i] + z_i . gamma
    u_w ~ Normal(0, sigma_war)

``x`` holds era (post-1945), the ATOP obligation dummies (defense, offense, neutral, nonagg,
consul) and multilateral; ``s`` is +1/2 for a Leeds-Anac outcome coding and -1/2 for a
Berkemeier-Fuhrmann one (0 in new crises); ``z`` holds the five Leeds-Anac covariates. Where a
Leeds-Anac covariate is unknown, the likelihood sums over its possible values, weighted by an
imputation model (a Categorical per covariate and era with a Dirichlet prior, learned from the
cases where it is known): P(honour_i) = sum_k P(z = c_k | era) * sigmoid(eta_i(c_k)). Missing
values are thus integrated out under missing-at-random given era, never filled with a constant.

Extra partner- and alliance-level covariates (:mod:`forecast.calibration.covariates`) enter as
``w_i . theta`` when ``calibration.extra_covariates`` names them. Each case is predicted in
the outcome coding of the file it comes from (``s = +-1/2``) unless the midpoint is asked for.

This module is the public face: :mod:`forecast.calibration.model` builds and fits the model,
:mod:`forecast.calibration.predict` reads and writes posteriors and predicts (historical cases,
and partners in a new crisis through :func:`predict_willingness`), and
:mod:`forecast.calibration.validation` scores it out of sample.
"""

from forecast.calibration.model import (
    CHECKED,
    EFFECTS,
    ERAS,
    SOURCE_CODE,
    Design,
    build_model,
    check_convergence,
    design_from_cases,
    fit,
)
from forecast.calibration.predict import (
    COMMITMENT_TYPES,
    load_posterior,
    predict_cases,
    predict_willingness,
    save_posterior,
)

__all__ = [
    "CHECKED",
    "COMMITMENT_TYPES",
    "EFFECTS",
    "ERAS",
    "SOURCE_CODE",
    "Design",
    "build_model",
    "check_convergence",
    "design_from_cases",
    "fit",
    "load_posterior",
    "predict_cases",
    "predict_willingness",
    "save_posterior",
]
