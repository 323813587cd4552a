"""Out-of-sample checks of the initiation model.

- **Temporal**: fit the years up to ``validation.cut_year``, score every later dyad-year with
  dispute data.
- **Grouped by dyad**: K folds of undirected dyads; each fold's dyads are scored by a fit on the
  others (all their years).
- Against a **plain logit** (same covariates and case-control sample, maximum likelihood, no
  priors or pooling) and the **base rate** of the training years. Log score and Brier score per
  dyad-year from ``scoringrules``; differences with their standard errors, both naive and
  clustered by dyad (dyad-years of one pair are not independent).
- A **reliability** table on equal-count bins of the model's probabilities.
- **SBC** of a reduced model (intercept and three covariates on a fixed design drawn from the
  data, the case-control offset included): ranks of the true values among posterior draws, as
  PIT values, with simultaneous ECDF bands (Säilynoja et al. 2022).
- The defence-pact effects beside the published signs and sizes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scoringrules as sr
from scipy.special import expit

from forecast.calibration import initiation as ini
from forecast.calibration.dyads import COVARIATES

#: What the literature reports for the target's defence pacts (sign; size where given).
PUBLISHED = (
    {
        "study": "Leeds (2003b)",
        "covariate": "def_applies",
        "sign": "-",
        "size": "a defensive ally of the target whose obligation applies to this challenger "
        "lowers the probability of a challenge",
    },
    {
        "study": "Johnson & Leeds (2011)",
        "covariate": "def_applies",
        "sign": "-",
        "size": "defence pacts lower dispute initiation against members",
    },
    {
        "study": "Benson (2011)",
        "covariate": "def_applies_contingent",
        "sign": "-",
        "size": "defence pacts contingent on the adversary's attack: about -18% in initiation "
        "by a third party",
        "percent": -18.0,
    },
)
_EPS = 1e-12


def fit_plain_logit(x: np.ndarray, y: np.ndarray, offset: float, iters: int = 50) -> np.ndarray:
    """Maximum-likelihood logit with a constant ``offset`` (Newton-Raphson); returns the
    coefficients (intercept first) of the population model. A ridge of 1e-6 keeps a separated
    column finite."""
    xd = np.column_stack([np.ones(len(x)), x])
    b = np.zeros(xd.shape[1])
    rate = np.clip(np.mean(y), 1e-6, 1 - 1e-6)
    b[0] = np.log(rate / (1 - rate)) - offset  # start at the base rate: Newton then converges
    for _ in range(iters):
        eta = offset + xd @ b
        p = expit(eta)
        grad = xd.T @ (y - p) - 1e-6 * b
        hess = (xd * (p * (1 - p))[:, None]).T @ xd + 1e-6 * np.eye(len(b))
        step = np.linalg.solve(hess, grad)
        b += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return b


def plain_logit_predict(b: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    x = frame[list(COVARIATES)].to_numpy(float)
    return expit(b[0] + x @ b[1:])


def predict_mean(tree, frame: pd.DataFrame, thin: int = 4, chunk: int = 20000) -> np.ndarray:
    """Posterior-mean P(initiation) per row (the predictive probability), in row chunks."""
    d = ini.draws(tree, thin)
    out = np.empty(len(frame))
    for start in range(0, len(frame), chunk):
        eta = ini.linear_predictor(d, frame.iloc[start : start + chunk])
        out[start : start + chunk] = (expit(eta)).mean(axis=0)
    return out


def _clustered_se(d: np.ndarray, groups: np.ndarray) -> float:
    """Standard error of mean(d), clustered by ``groups``."""
    n = len(d)
    resid = pd.Series(d - d.mean()).groupby(groups).sum().to_numpy()
    return float(np.sqrt(np.sum(resid**2)) / n)


def score(predictions: dict[str, np.ndarray], y: np.ndarray, groups: np.ndarray) -> dict:
    """Mean log and Brier scores of each forecast (lower is better) and each one's difference
    from the first (``"model"``), with naive and dyad-clustered standard errors."""
    y = np.asarray(y, float)
    per_row = {}
    out: dict = {"n": len(y), "n_events": int(y.sum())}
    for name, p in predictions.items():
        p = np.clip(np.asarray(p, float), _EPS, 1 - _EPS)
        per_row[name] = {
            "log": np.asarray(sr.log_score(y, p)),
            "brier": np.asarray(sr.brier_score(y, p)),
        }
        out[name] = {k: float(v.mean()) for k, v in per_row[name].items()}
    ref = next(iter(predictions))
    for name in list(predictions)[1:]:
        for rule in ("log", "brier"):
            d = per_row[ref][rule] - per_row[name][rule]
            out[f"{ref} - {name}"] = out.get(f"{ref} - {name}", {}) | {
                rule: float(d.mean()),
                f"{rule}_se": float(d.std(ddof=1) / np.sqrt(len(d))),
                f"{rule}_se_dyad": _clustered_se(d, groups),
            }
    return out


def _forecasts(tree, train: pd.DataFrame, test: pd.DataFrame, fraction: float, seed: int):
    sample, offset = ini.case_control_sample(train, fraction, seed)
    b = fit_plain_logit(sample[list(COVARIATES)].to_numpy(float), sample["y"].to_numpy(), offset)
    base = float(train["y"].mean())
    return {
        "model": predict_mean(tree, test),
        "plain logit": plain_logit_predict(b, test),
        "base rate": np.full(len(test), base),
    }


def temporal(frame: pd.DataFrame, config, validation) -> tuple[dict, pd.DataFrame]:
    """Fit up to ``validation.cut_year``, score the later years with dispute data.

    Returns the scores (all dyad-years and the politically relevant ones) and the test rows'
    forecasts (columns ``y``, ``prd``, ``dyad``, one per forecast).
    """
    known = frame[frame["y"].notna()]
    train = known[known["year"] <= validation.cut_year]
    test = known[known["year"] > validation.cut_year]
    tree = ini.fit(train, config, draws=validation.fold_draws, tune=validation.fold_tune)
    forecasts = _forecasts(tree, train, test, config.control_fraction, config.sampling.seed)
    pred = test[["ccode1", "ccode2", "year", "dyad", "prd", "y"]].assign(**forecasts)
    prd = pred["prd"].to_numpy(bool)
    result = {
        "cut_year": int(validation.cut_year),
        "train_years": [int(train["year"].min()), int(train["year"].max())],
        "test_years": [int(test["year"].min()), int(test["year"].max())],
        "all": score(forecasts, pred["y"].to_numpy(), pred["dyad"].to_numpy()),
        "politically_relevant": score(
            {k: v[prd] for k, v in forecasts.items()},
            pred["y"].to_numpy()[prd],
            pred["dyad"].to_numpy()[prd],
        ),
        "diagnostics": {k[12:]: v for k, v in tree.attrs.items() if k.startswith("diagnostics_")},
        "pact_effects": pact_effects(tree),
    }
    return result, pred


def dyad_folds(dyads: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold index of each row: undirected dyads are dealt to folds in a seeded random order."""
    unique = np.unique(dyads)
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = pd.Series(order % n_folds, index=unique)
    return fold_of.reindex(dyads).to_numpy()


def grouped(frame: pd.DataFrame, config, validation) -> tuple[dict, pd.DataFrame]:
    """K-fold cross-validation grouped by undirected dyad (all years with dispute data)."""
    known = frame[frame["y"].notna()]
    folds = dyad_folds(known["dyad"].to_numpy(), validation.folds, validation.fold_seed)
    parts = []
    for k in range(validation.folds):
        train, test = known[folds != k], known[folds == k]
        tree = ini.fit(
            train,
            config,
            draws=validation.fold_draws,
            tune=validation.fold_tune,
            seed=config.sampling.seed + k + 1,
        )
        forecasts = _forecasts(tree, train, test, config.control_fraction, config.sampling.seed)
        parts.append(
            test[["ccode1", "ccode2", "year", "dyad", "prd", "y"]].assign(fold=k, **forecasts)
        )
    pred = pd.concat(parts)
    names = ["model", "plain logit", "base rate"]
    prd = pred["prd"].to_numpy(bool)
    result = {
        "folds": int(validation.folds),
        "all": score(
            {n: pred[n].to_numpy() for n in names}, pred["y"].to_numpy(), pred["dyad"].to_numpy()
        ),
        "politically_relevant": score(
            {n: pred[n].to_numpy()[prd] for n in names},
            pred["y"].to_numpy()[prd],
            pred["dyad"].to_numpy()[prd],
        ),
    }
    return result, pred


def reliability(p: np.ndarray, y: np.ndarray, n_bins: int) -> pd.DataFrame:
    """Mean forecast and observed rate in equal-count bins of ``p`` (rare events need them)."""
    order = np.argsort(p, kind="stable")
    rows = []
    for part in np.array_split(order, n_bins):
        rows.append(
            {
                "p_mean": float(p[part].mean()),
                "observed": float(y[part].mean()),
                "n": len(part),
                "n_events": int(y[part].sum()),
            }
        )
    return pd.DataFrame(rows)


def _effect(name: str, b: np.ndarray) -> dict:
    """Summary of one log-odds effect's draws b: mean, 90% interval, the same as a percent
    change in the odds, and P(effect < 0)."""
    pct = 100.0 * (np.exp(b) - 1.0)
    return {
        "covariate": name,
        "beta_mean": float(b.mean()),
        "beta_q05": float(np.quantile(b, 0.05)),
        "beta_q95": float(np.quantile(b, 0.95)),
        "percent_mean": float(pct.mean()),
        "percent_q05": float(np.quantile(pct, 0.05)),
        "percent_q95": float(np.quantile(pct, 0.95)),
        "p_negative": float(np.mean(b < 0)),
    }


def pact_effects(tree) -> list[dict]:
    """Percent change in the odds of initiation (about the risk: events are rare) for each
    defence-pact covariate, with 90% intervals and P(effect < 0)."""
    beta = tree["posterior"]["beta"]

    def draws(name: str) -> np.ndarray:
        return beta.sel(covariate=name).to_numpy().ravel()

    names = ("def_applies", "def_applies_major", "def_applies_contingent", "def_shared")
    out = [_effect(n, draws(n)) for n in names]
    # A target with a contingent pact with a major power, against one with no pact at all.
    combined = names[:3]
    out.append(_effect(" + ".join(combined), sum(draws(c) for c in combined)))
    return out


#: The reduced model of the SBC check: intercept and these covariates.
SBC_COVARIATES = ("def_applies", "contig_land", "log_dist")


def simulation_based_calibration(
    frame: pd.DataFrame, config, validation, n_rows: int = 2000
) -> dict:
    """SBC of the reduced initiation model on a fixed design of ``n_rows`` rows drawn from the
    case-control sample (so the offset and event rate are those of the real fit).

    Each simulation draws parameters from the prior, outcomes from the likelihood, refits with
    NUTS (one chain, ``validation.sbc_draws`` draws, thinned to limit autocorrelation) and
    records the PIT value (the share of posterior draws below the true value).

    Returns
    -------
    dict
        ``pit`` per parameter, the ECDF's simultaneous 95% band check, the KS p-value against
        uniform, and 50% / 90% interval coverage.
    """
    import pymc as pm
    import pytensor.tensor as pt
    from arviz_stats.ecdf_utils import ecdf_pit
    from scipy import stats

    sample, offset = ini.case_control_sample(frame, config.control_fraction, validation.sbc_seed)
    rng = np.random.default_rng(validation.sbc_seed)
    rows = sample.iloc[rng.choice(len(sample), size=min(n_rows, len(sample)), replace=False)]
    xz, _, _ = ini._standardise(rows[list(SBC_COVARIATES)].to_numpy(float))
    pr = config.priors
    with pm.Model() as model:
        y_data = pm.Data("y_obs", np.zeros(len(rows), np.int64))
        a = pm.Normal("a", pr.intercept.mu, pr.intercept.sigma)
        b = pm.Normal("b", pr.effects.mu, pr.effects.sigma, shape=len(SBC_COVARIATES))
        pm.Bernoulli("y", logit_p=offset + a + pt.dot(xz, b), observed=y_data)
    names = ["a", *(f"b[{c}]" for c in SBC_COVARIATES)]
    pit = {n: [] for n in names}
    inside50 = inside90 = 0
    for s in range(validation.sbc_simulations):
        true = np.concatenate(
            [
                [rng.normal(pr.intercept.mu, pr.intercept.sigma)],
                rng.normal(pr.effects.mu, pr.effects.sigma, len(SBC_COVARIATES)),
            ]
        )
        p = expit(offset + true[0] + xz @ true[1:])
        y = (rng.random(len(rows)) < p).astype(np.int64)
        with model:
            pm.set_data({"y_obs": y})
            # PyMC's own NUTS: the data change every simulation, and nutpie would compile
            # the model again each time
            idata = pm.sample(
                draws=validation.sbc_draws,
                tune=validation.sbc_tune,
                chains=1,
                random_seed=validation.sbc_seed + s,
                progressbar=False,
                compute_convergence_checks=False,
                nuts_sampler="pymc",
            )
        post = idata["posterior"]
        got = np.column_stack(
            [post["a"].to_numpy().ravel(), post["b"].to_numpy().reshape(-1, len(SBC_COVARIATES))]
        )[::2]
        for j, n in enumerate(names):
            pit[n].append(float(np.mean(got[:, j] < true[j])))
        lo50, hi50 = np.quantile(got, [0.25, 0.75], axis=0)
        lo90, hi90 = np.quantile(got, [0.05, 0.95], axis=0)
        inside50 += int(np.sum((lo50 <= true) & (true <= hi50)))
        inside90 += int(np.sum((lo90 <= true) & (true <= hi90)))
    out = {
        "n_simulations": int(validation.sbc_simulations),
        "n_rows": len(rows),
        "parameters": names,
        "pit": pit,
    }
    total = max(validation.sbc_simulations * len(names), 1)
    out["coverage_50"] = inside50 / total
    out["coverage_90"] = inside90 / total
    out["ks_pvalue"] = {
        n: float(stats.kstest(v, "uniform").pvalue) if v else float("nan") for n, v in pit.items()
    }
    band_ok = {}
    for n, v in pit.items():
        if len(v) >= 5:
            grid, ecdf, lower, upper = ecdf_pit(
                np.asarray(v), 0.95, 1000, rng=np.random.default_rng(0)
            )
            band_ok[n] = bool(np.all((ecdf >= lower - 1e-12) & (ecdf <= upper + 1e-12)))
    out["inside_95_band"] = band_ok
    return out


def plot_validation(report: dict, reliability_tables: dict, path, provenance: dict):
    """One PNG: reliability diagrams (temporal, grouped), the SBC ECDF-PIT differences and the
    pact effects beside the published sizes. Written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from forecast.storage import replace_atomically

    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    ax = axes[0]
    for (label, table), marker in zip(reliability_tables.items(), "osd^v", strict=False):
        ax.loglog(table["p_mean"], table["observed"].clip(lower=1e-5), marker=marker, label=label)
    lim = [1e-5, 1.0]
    ax.plot(lim, lim, "k:", lw=1)
    ax.set(
        xlabel="forecast P(initiation), bin mean",
        ylabel="observed rate",
        title="Reliability (equal-count bins; 1e-5 = none)",
    )
    ax.legend(fontsize=8)
    ax = axes[1]
    sbc = report.get("sbc")
    if sbc and sbc["n_simulations"] >= 5:
        from arviz_stats.ecdf_utils import ecdf_pit

        for n, v in sbc["pit"].items():
            grid, ecdf, lower, upper = ecdf_pit(
                np.asarray(v), 0.95, 1000, rng=np.random.default_rng(0)
            )
            ax.step(grid, ecdf - grid, where="post", label=n)
        ax.fill_between(
            grid,
            lower - grid,
            upper - grid,
            color="grey",
            alpha=0.25,
            step="post",
            label="95% simultaneous band",
        )
        ax.set(
            title=f"SBC, reduced model ({sbc['n_simulations']} simulations)",
            xlabel="PIT",
            ylabel="ECDF - uniform",
        )
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "SBC off (validation.sbc_simulations)", ha="center")
        ax.set_axis_off()
    ax = axes[2]
    effects = report["pact_effects"]
    ys = np.arange(len(effects))
    means = [e["percent_mean"] for e in effects]
    ax.errorbar(
        means,
        ys,
        xerr=[
            [m - e["percent_q05"] for m, e in zip(means, effects, strict=True)],
            [e["percent_q95"] - m for m, e in zip(means, effects, strict=True)],
        ],
        fmt="o",
        label="this model, 90% interval",
    )
    ax.axvline(0, color="k", lw=0.8)
    ax.axvline(-18, color="tab:red", ls="--", label="Benson (2011): about -18%")
    ax.set_yticks(ys, [e["covariate"] for e in effects], fontsize=8)
    ax.set(xlabel="% change in P(initiation) against the target", title="Defence-pact effects")
    ax.legend(fontsize=8)
    fig.text(
        0.01,
        0.005,
        f"forecast-calibrate calibration=deterrence  "
        f"{provenance.get('created_at', '')}  git {provenance.get('git_revision', '')}",
        fontsize=7,
        color="grey",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))

    def write(tmp):
        fig.savefig(tmp, format="png", dpi=110)

    try:
        return replace_atomically(path, write)
    finally:
        plt.close(fig)
