"""Out-of-sample validation of the calibration: grouped cross-validation against two baselines,
reliability diagram, simulation-based calibration and PSIS-LOO.

Every function takes a case table (:data:`forecast.calibration.data.CASE_COLUMNS`) and configs, and
returns
plain dicts / DataFrames; :func:`forecast.cli.calibrate.run_calibration` writes them out.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from forecast.calibration.data import LA_COVARIATES, LA_LEVELS
from forecast.calibration.model import SOURCE_CODE, build_model, design_from_cases, fit
from forecast.calibration.predict import _predict_probabilities, predict_cases
from forecast.config.calibration import CalibrationModelConfig, ValidationConfig

log = logging.getLogger(__name__)

#: The classic Leeds & Anac (2005) logit: constant and five covariates.
LA_LOGIT_TERMS = ("const", *LA_COVARIATES)
#: Published coefficients (Leeds & Anac 2005, full 137 cases), for sign checks.
LA_PUBLISHED = {
    "const": 3.69,
    "milinst": -0.71,
    "formal": -0.93,
    "chcap2d": -1.55,
    "dinstch2": -1.46,
    "origtar1": -1.36,
}
_EPS = 1e-12


# ---------------------------------------------------------------------------------------------
# Scores and baselines
# ---------------------------------------------------------------------------------------------


def brier_score(p: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of probabilities ``p`` (n,) for outcomes ``y`` (n,); lower is better."""
    return float(np.mean((np.asarray(p) - np.asarray(y)) ** 2))


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log probability of the outcomes (the log score's loss form); lower is
    better. Probabilities are clipped to [1e-12, 1 - 1e-12] so one certain miss stays finite."""
    p = np.clip(np.asarray(p, float), _EPS, 1 - _EPS)
    y = np.asarray(y, float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def fit_logit(x: np.ndarray, y: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton-Raphson.

    Parameters
    ----------
    x : (n, p) design, including a constant column
    y : (n,) 0/1

    Returns
    -------
    numpy.ndarray
        (p,) coefficients. A tiny ridge (1e-6) keeps the Hessian invertible under separation.
    """
    coef = np.zeros(x.shape[1])
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(x @ coef)))
        grad = x.T @ (y - p) - 1e-6 * coef
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        coef += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return coef


def la_logit_rows(cases: pd.DataFrame) -> np.ndarray:
    """Mask (n,) of cases the Leeds-Anac logit applies to: LA outcome coding, all 5 covariates."""
    return (
        cases["source"].isin(["LA", "both"]) & cases[list(LA_COVARIATES)].notna().all(axis=1)
    ).to_numpy()


def la_logit_design(cases: pd.DataFrame) -> np.ndarray:
    """(n, 6) design of the Leeds-Anac logit: constant and the five covariates."""
    return np.column_stack([np.ones(len(cases)), cases[list(LA_COVARIATES)].to_numpy(float)])


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
    cases: pd.DataFrame, model_config: CalibrationModelConfig, config: ValidationConfig
) -> tuple[pd.DataFrame, dict]:
    """K-fold cross-validation grouped by war: no war has cases on both sides of a split.

    In each fold the hierarchical model, the base rate and the Leeds-Anac logit are fitted on
    the training cases and predict the held-out ones; held-out wars are new wars, so the model
    draws their war effect from the fitted hierarchy. The Leeds-Anac logit needs its five
    covariates, so it only predicts cases with a Leeds-Anac outcome; on the other cases the
    combined baseline ("la_logit_or_base") falls back to the base rate.

    Returns
    -------
    predictions : pandas.DataFrame
        One row per case: fold, y, source, p_model, p_base, p_la_logit (NaN where it does not
        apply), p_la_logit_or_base.
    scores : dict
        Brier and log loss of each predictor on subsets ``all``, ``la`` (Leeds-Anac-coded
        cases) and ``bf_only``, pooled over folds, plus per-fold Brier and LA logit
        coefficients.
    """
    folds = war_folds(cases["war"].to_numpy(), config.folds, config.fold_seed)
    la_rows = la_logit_rows(cases)
    x_la = la_logit_design(cases)
    y = cases["y"].to_numpy(float)
    out = pd.DataFrame(index=cases.index)
    out["fold"] = folds
    out["war"] = cases["war"]
    out["y"] = y
    out["source"] = cases["source"]
    for col in ("p_model", "p_model_q05", "p_model_q95", "p_base", "p_la_logit"):
        out[col] = np.nan
    coefs = {}
    for k in range(config.folds):
        test = folds == k
        train = ~test
        log.info(
            "fold %d/%d: %d training, %d held-out cases",
            k + 1,
            config.folds,
            train.sum(),
            test.sum(),
        )
        tree = fit(
            cases[train],
            model_config,
            draws=config.fold_draws,
            tune=config.fold_tune,
            seed=model_config.sampling.seed + k,
            log_likelihood=False,
            wars=cases["war"].to_numpy(),
        )
        draws = predict_cases(tree, cases[test], seed=k, new_wars=True)
        out.loc[test, "p_model"] = draws.mean(axis=0)
        out.loc[test, "p_model_q05"] = np.quantile(draws, 0.05, axis=0)
        out.loc[test, "p_model_q95"] = np.quantile(draws, 0.95, axis=0)
        out.loc[test, "p_base"] = y[train].mean()
        coef = fit_logit(x_la[train & la_rows], y[train & la_rows])
        coefs[f"fold{k}"] = dict(zip(LA_LOGIT_TERMS, coef.round(3).tolist(), strict=True))
        sel = test & la_rows
        out.loc[sel, "p_la_logit"] = 1.0 / (1.0 + np.exp(-(x_la[sel] @ coef)))
    out["p_la_logit_or_base"] = out["p_la_logit"].fillna(out["p_base"])
    return out, cv_scores(out, config.folds) | {"la_logit_coefficients": coefs}


def cv_scores(pred: pd.DataFrame, n_folds: int) -> dict:
    """Brier and log loss per subset and predictor from :func:`cross_validate`'s table."""
    subsets = {
        "all": np.ones(len(pred), bool),
        "la": pred["p_la_logit"].notna().to_numpy(),
        "bf_only": (pred["source"] == "BF").to_numpy(),
    }
    scores = {"n_folds": n_folds}
    for name, mask in subsets.items():
        sub = pred[mask]
        predictors = ["p_model", "p_base"] + (
            ["p_la_logit"] if name == "la" else ["p_la_logit_or_base"] if name == "all" else []
        )
        scores[name] = {"n_cases": int(mask.sum()), "n_wars": int(sub["war"].nunique())}
        for col in predictors:
            scores[name][col[2:]] = {
                "brier": brier_score(sub[col], sub["y"]),
                "log_loss": log_loss(sub[col], sub["y"]),
            }
    scores["brier_by_fold"] = {
        f"fold{k}": {
            col[2:]: brier_score(g[col], g["y"])
            for col in ("p_model", "p_base", "p_la_logit_or_base")
        }
        for k, g in pred.groupby("fold")
    }
    return scores


def reliability_table(p: np.ndarray, y: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Equal-count bins of predicted probability with observed frequency and 90% interval.

    The interval is the Jeffreys interval (Beta(k + 1/2, n - k + 1/2) quantiles).
    """
    from scipy import stats

    order = np.argsort(p, kind="stable")
    rows = []
    for chunk in np.array_split(order, n_bins):
        k, n = float(np.sum(y[chunk])), len(chunk)
        rows.append(
            {
                "p_mean": float(np.mean(p[chunk])),
                "observed": k / n,
                "observed_q05": float(stats.beta.ppf(0.05, k + 0.5, n - k + 0.5)),
                "observed_q95": float(stats.beta.ppf(0.95, k + 0.5, n - k + 0.5)),
                "n": n,
            }
        )
    return pd.DataFrame(rows)


def plot_reliability(
    tables: dict[str, pd.DataFrame], path: str | Path, provenance: dict | None = None
) -> Path:
    """Reliability diagram (one line per predictor) written as a PNG.

    ``provenance`` (str -> str) is stored in the PNG's text chunks.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect calibration")
    for (name, tab), marker in zip(tables.items(), "osd^", strict=False):
        ax.errorbar(
            tab["p_mean"],
            tab["observed"],
            # The Jeffreys interval need not contain 0/n or n/n itself: clip at the point.
            yerr=np.clip(
                [tab["observed"] - tab["observed_q05"], tab["observed_q95"] - tab["observed"]],
                0.0,
                None,
            ),
            marker=marker,
            capsize=3,
            label=name,
        )
    ax.set_xlabel("predicted P(honour), out of sample")
    ax.set_ylabel("observed share honoured (90% interval)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Reliability, grouped-by-war cross-validation")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    from forecast.storage import replace_atomically

    meta = {"Software": "forecast-calibrate"} | {
        k: str(v) for k, v in (provenance or {}).items() if k != "config_yaml"
    }
    try:
        return replace_atomically(
            path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, metadata=meta)
        )
    finally:
        plt.close(fig)


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
    from scipy import stats

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
    n_post = config.sbc_draws
    per_param = {}
    for key, r in ranks.items():
        # Ranks in 0..n_post binned into 4 equal bins: chi-square test of uniformity.
        counts = np.bincount(np.minimum(np.asarray(r) * 4 // (n_post + 1), 3), minlength=4)
        per_param[key] = {
            "coverage_50": float(np.mean(inside50[key])),
            "coverage_90": float(np.mean(inside90[key])),
            "rank_chi2_p": float(stats.chisquare(counts).pvalue),
        }
    return {
        "n_simulations": n_sims,
        "posterior_draws_per_simulation": n_post,
        "coverage_50": float(np.mean([v for x in inside50.values() for v in x])),
        "coverage_90": float(np.mean([v for x in inside90.values() for v in x])),
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
    "SOURCE_CODE",
    "brier_score",
    "cross_validate",
    "fit_logit",
    "log_loss",
    "plot_reliability",
    "psis_loo",
    "reliability_table",
    "simulation_based_calibration",
    "war_folds",
]
