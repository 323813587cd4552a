"""Out-of-sample validation of the calibration: grouped cross-validation against the classic
logits, simulation-based calibration and PSIS-LOO (the CORP reliability diagram is in
:mod:`forecast.calibration.reliability`).

Every function takes a case table (:data:`forecast.calibration.cases.CASE_COLUMNS`) and configs,
and returns plain dicts / DataFrames; :mod:`forecast.jobs.honour` writes them out.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from forecast.calibration.comparison import (
    BF_LOGIT,
    LA_LOGIT,
    LA_LOGIT_TERMS,
    Variant,
    case_scores,
    cross_validate_variants,
    fit_logit,
    logit_design,
    score_table,
)
from forecast.calibration.data import LA_COVARIATES, LA_LEVELS
from forecast.calibration.model import SOURCE_CODE, build_model, design_from_cases
from forecast.calibration.predict import _predict_probabilities
from forecast.config.calibration import CalibrationModelConfig, ValidationConfig

log = logging.getLogger(__name__)

#: Published coefficients (Leeds & Anac 2005, full 137 cases), for sign checks.
LA_PUBLISHED = {
    "const": 3.69,
    "milinst": -0.71,
    "formal": -0.93,
    "chcap2d": -1.55,
    "dinstch2": -1.46,
    "origtar1": -1.36,
}


# ---------------------------------------------------------------------------------------------
# Scores and baselines
# ---------------------------------------------------------------------------------------------


def brier_score(p: np.ndarray, y: np.ndarray) -> float:
    """Mean Brier score (scoringrules) of probabilities ``p`` (n,) for outcomes ``y`` (n,);
    lower is better."""
    return float(np.mean(case_scores(p, y)[0]))


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """Mean log score ``-log p(y)`` (scoringrules); lower is better. Probabilities are clipped
    to [1e-12, 1 - 1e-12] so one certain miss stays finite."""
    return float(np.mean(case_scores(p, y)[1]))


def la_logit_rows(cases: pd.DataFrame) -> np.ndarray:
    """Mask (n,) of cases the Leeds-Anac logit applies to: LA outcome coding, all 5 covariates."""
    return (
        cases["source"].isin(["LA", "both"]) & cases[list(LA_COVARIATES)].notna().all(axis=1)
    ).to_numpy()


def la_logit_design(cases: pd.DataFrame) -> np.ndarray:
    """(n, 6) design of the Leeds-Anac logit: constant and the five covariates."""
    return logit_design(cases, "la_logit")


# ---------------------------------------------------------------------------------------------
# Grouped cross-validation
# ---------------------------------------------------------------------------------------------


def war_folds(wars: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Assign every case of a war to the same fold, balancing case counts across folds.

    Wars are shuffled, then placed largest first into the fold with the fewest cases so far.

    Returns
    -------
    numpy.ndarray
        (n,) fold index per case.
    """
    rng = np.random.default_rng(seed)
    names, counts = np.unique(wars.astype(str), return_counts=True)
    order = rng.permutation(len(names))
    order = order[np.argsort(-counts[order], kind="stable")]
    load = np.zeros(n_folds, int)
    fold_of = {}
    for i in order:
        f = int(np.argmin(load))
        fold_of[names[i]] = f
        load[f] += counts[i]
    return np.array([fold_of[w] for w in wars.astype(str)])


def cross_validate(
    cases: pd.DataFrame,
    model_config: CalibrationModelConfig,
    config: ValidationConfig,
    extra: pd.DataFrame | None = None,
    variants: tuple[Variant, ...] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """K-fold cross-validation grouped by war: no war has cases on both sides of a split.

    Fits the configured model (``model_config.extra_covariates``, each case predicted in its
    own coding) and the two classic logits on the same folds; ``variants`` (default: just
    these) may list more (:data:`forecast.calibration.comparison.VARIANTS`). Held-out wars are
    new wars: the model draws their war effect from the fitted hierarchy.

    Returns
    -------
    predictions : pandas.DataFrame
        One row per case: fold, war, source, y and one column of P(honour) per variant.
    table : pandas.DataFrame
        :func:`forecast.calibration.comparison.score_table`: Brier and log score with
        war-clustered SEs per dataset, and paired differences from the dataset's logit.
    """
    folds = war_folds(cases["war"].to_numpy(), config.folds, config.fold_seed)
    chosen = Variant(MODEL_LABEL, extra=tuple(model_config.extra_covariates))
    if variants is None:
        variants = (LA_LOGIT, BF_LOGIT, chosen)
    if extra is None:
        extra = pd.DataFrame(index=cases.index)
    pred = cross_validate_variants(cases, extra, folds, model_config, config, variants)
    front = pd.DataFrame(
        {"fold": folds, "war": cases["war"], "source": cases["source"], "y": cases["y"]},
        index=cases.index,
    )
    return pd.concat([front, pred], axis=1), score_table(cases, pred)


#: Label of the configured model in cross-validation tables.
MODEL_LABEL = "hierarchical model (as configured)"


# ---------------------------------------------------------------------------------------------
# Simulation-based calibration
# ---------------------------------------------------------------------------------------------


#: Scalar parameters whose ranks SBC checks, as (variable, coordinate label or None).
def _scalar_params(tree_post: xr.Dataset) -> list[tuple[str, str | None]]:
    out = [("alpha", None), ("delta_source", None), ("sigma_war", None)]
    out += [("beta", e) for e in tree_post["effect"].to_numpy().astype(str)]
    out += [("gamma", c) for c in tree_post["la_covariate"].to_numpy().astype(str)]
    return out


def _value(ds: xr.Dataset, var: str, label: str | None) -> xr.DataArray:
    da = ds[var]
    if label is None:
        return da
    return da.sel({"effect" if var == "beta" else "la_covariate": label})


def simulation_based_calibration(
    cases: pd.DataFrame, model_config: CalibrationModelConfig, config: ValidationConfig
) -> dict:
    """Simulation-based calibration (Talts et al. 2018) on the real design.

    Each simulation draws all parameters from the prior, simulates the observed Leeds-Anac
    covariates and the outcomes from them (unknown covariates stay unknown), refits with NUTS
    (one chain) and records the rank of each true scalar parameter among the posterior draws.
    With a correct sampler and model code the ranks are uniform and central intervals cover at
    their nominal rate.

    Returns
    -------
    dict
        ``n_simulations``, ``coverage_50`` and ``coverage_90`` (pooled over parameters),
        per-parameter coverage and rank chi-square p-value, and the ranks.
    """
    n_sims = config.sbc_simulations
    rng = np.random.default_rng(config.sbc_seed)
    model = build_model(cases, model_config.priors)
    design = design_from_cases(cases)
    free = ["alpha", "beta", "delta_source", "gamma", "sigma_war", "u_war", "log_pi"]
    prior = pm.sample_prior_predictive(
        draws=n_sims, model=model, var_names=free, random_seed=config.sbc_seed
    )["prior"].to_dataset()
    prior = prior.stack(sample=("chain", "draw")).transpose("sample", ...)
    params = _scalar_params(prior)
    ranks = {f"{v}[{c}]" if c else v: [] for v, c in params}
    inside50 = {k: [] for k in ranks}
    inside90 = {k: [] for k in ranks}
    war_idx = pd.Index(model.coords["war"]).get_indexer(design.war.astype(str))
    step = None
    for s in range(n_sims):
        truth = prior.isel(sample=s)
        draws = {k: truth[k].to_numpy()[None] for k in free}
        z_sim = design.z.copy()
        pi = np.exp(draws["log_pi"][0])  # (5, era, level)
        for j, name in enumerate(LA_COVARIATES):
            known = ~design.missing[:, j]
            probs = pi[j, design.era[known], : len(LA_LEVELS[name])]
            u = rng.random(known.sum())[:, None]
            z_sim[known, j] = (u > np.cumsum(probs, axis=1)).sum(axis=1)
        sim_design = design.__class__(**{**design.__dict__, "z": z_sim})
        p = _predict_probabilities(draws, sim_design, draws["u_war"][:, war_idx])[0]
        y_sim = (rng.random(len(p)) < p).astype(int)
        with model:
            pm.set_data(
                {"y_obs": y_sim, "z_known": z_sim}
                | {
                    f"z_{name}": z_sim[~design.missing[:, j], j].astype(int)
                    for j, name in enumerate(LA_COVARIATES)
                }
            )
            if step is None:
                # One compiled NUTS step for all simulations; pm.sample resets its tuning.
                step = pm.NUTS(target_accept=model_config.sampling.target_accept)
            post = pm.sample(
                draws=config.sbc_draws,
                tune=config.sbc_tune,
                chains=1,
                cores=1,
                step=step,
                random_seed=config.sbc_seed + 1000 + s,
                progressbar=False,
                compute_convergence_checks=False,
            )["posterior"].to_dataset()
        for var, label in params:
            key = f"{var}[{label}]" if label else var
            sample = _value(post, var, label).to_numpy().ravel()
            true = float(_value(truth, var, label))
            ranks[key].append(int(np.sum(sample < true)))
            q = np.quantile(sample, [0.05, 0.25, 0.75, 0.95])
            inside50[key].append(bool(q[1] <= true <= q[2]))
            inside90[key].append(bool(q[0] <= true <= q[3]))
    return sbc_summary(ranks, inside50, inside90, config.sbc_draws, n_sims, config.sbc_seed)


def sbc_summary(
    ranks: dict, inside50: dict, inside90: dict, n_post: int, n_sims: int, seed: int
) -> dict:
    """Coverage and ECDF-PIT uniformity check of SBC ranks (Säilynoja, Bürkner & Vehtari 2022).

    Each parameter's ranks become PIT values ``(rank + 1/2) / (n_post + 1)``; their ECDF must
    stay inside the simultaneous 95% band of a uniform sample of the same size
    (:func:`arviz_stats.ecdf_utils.ecdf_pit`). A correct sampler leaves the band for about 5%
    of parameters.
    """
    from arviz_stats.ecdf_utils import ecdf_pit

    rng = np.random.default_rng(seed)
    per_param = {}
    for key, r in ranks.items():
        pit = (np.asarray(r, float) + 0.5) / (n_post + 1)
        _, ecdf, lower, upper = ecdf_pit(pit, 0.95, 1000, rng=rng)
        outside = int(np.sum((ecdf < lower) | (ecdf > upper)))
        per_param[key] = {
            "coverage_50": float(np.mean(inside50[key])),
            "coverage_90": float(np.mean(inside90[key])),
            "ecdf_points_outside_95_band": outside,
            "ecdf_inside_95_band": outside == 0,
        }
    return {
        "n_simulations": n_sims,
        "posterior_draws_per_simulation": n_post,
        "coverage_50": float(np.mean([v for x in inside50.values() for v in x])),
        "coverage_90": float(np.mean([v for x in inside90.values() for v in x])),
        "n_parameters_outside_ecdf_band": int(
            sum(not v["ecdf_inside_95_band"] for v in per_param.values())
        ),
        "parameters": per_param,
        "ranks": {k: list(map(int, v)) for k, v in ranks.items()},
    }


# ---------------------------------------------------------------------------------------------
# PSIS-LOO
# ---------------------------------------------------------------------------------------------


def psis_loo(tree: xr.DataTree, wars: np.ndarray) -> dict:
    """PSIS-LOO of the fitted model, leaving out one case and (summing the log-likelihood by
    war) one whole war at a time.

    Returns
    -------
    dict
        For ``case`` and ``war``: elpd, its SE, p_loo, the largest Pareto k and the number of
        Pareto k above 0.7.
    """
    import arviz_stats as azs

    out = {}
    ll = tree["log_likelihood"]["y"]
    by_war = (
        ll.assign_coords(war_of_case=("case", np.asarray(wars, str))).groupby("war_of_case").sum()
    )
    for name, data in (("case", ll), ("war", by_war)):
        sub = xr.DataTree.from_dict(
            {
                "posterior": tree["posterior"].to_dataset()[["alpha"]],
                "log_likelihood": xr.Dataset({"y": data}),
            }
        )
        # ArviZ warns when Pareto k is high; the k values are reported below instead, so the
        # warning is recorded rather than raised.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = azs.loo(sub, var_name="y")
        k = np.asarray(res.pareto_k).ravel()
        out[name] = {
            "elpd_loo": float(res.elpd),
            "se": float(res.se),
            "p_loo": float(res.p),
            "n_points": int(k.size),
            "pareto_k_max": float(np.max(k)),
            "n_pareto_k_above_0_7": int(np.sum(k > 0.7)),
            "warnings": [str(w.message) for w in caught],
        }
    return out


__all__ = [
    "LA_LOGIT_TERMS",
    "MODEL_LABEL",
    "SOURCE_CODE",
    "brier_score",
    "cross_validate",
    "fit_logit",
    "log_loss",
    "psis_loo",
    "sbc_summary",
    "simulation_based_calibration",
    "war_folds",
]
