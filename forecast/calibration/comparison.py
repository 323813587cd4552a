"""Which model earns its complexity: grouped-by-war cross-validation of model variants.

Every variant is fitted on the same folds (every case of a war in one fold) and predicts the
held-out cases as cases of new wars. Each dataset is scored in its own outcome coding against
its classic logit: the Leeds & Anac (2005) five-covariate logit on Leeds-Anac rows, the
Berkemeier & Fuhrmann (2018) era + obligation-type logit on Berkemeier-Fuhrmann rows. Scores
come from ``scoringrules`` (Brier, and the log score ``-log p(y)``; lower is better). Standard
errors are clustered by war, since cases of one war share its circumstances; a paired
difference compares two predictors case by case on the same cases.

Depends on numpy, pandas, scoringrules and the model modules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecast.calibration.covariates import ALLIANCE_COVARIATES, PARTNER_COVARIATES, standardise
from forecast.calibration.data import LA_COVARIATES, TYPE_COLUMNS
from forecast.calibration.model import SOURCE_CODE, fit
from forecast.calibration.predict import predict_cases
from forecast.config.calibration import CalibrationModelConfig, ValidationConfig

log = logging.getLogger(__name__)

_EPS = 1e-12
#: Terms of the Berkemeier-Fuhrmann classic logit.
BF_LOGIT_TERMS = ("const", "post1945", *TYPE_COLUMNS)
#: Terms of the Leeds-Anac classic logit.
LA_LOGIT_TERMS = ("const", *LA_COVARIATES)


@dataclass(frozen=True)
class Variant:
    """One predictor in the comparison.

    ``kind`` is ``"hierarchical"``, ``"la_logit"``, ``"bf_logit"`` or ``"base_rate"`` (the
    training share honoured of the case's own dataset). A hierarchical variant
    adds the ``extra`` covariates; ``one_coding_per_event`` drops the Berkemeier-Fuhrmann row
    of an event Leeds-Anac also codes (the previous default); ``midpoint`` predicts every case
    at the midpoint of the two codings (also the previous default) instead of in its own.
    """

    name: str
    kind: str = "hierarchical"
    extra: tuple[str, ...] = ()
    one_coding_per_event: bool = False
    midpoint: bool = False


BASE_RATE = Variant("base rate of the dataset", kind="base_rate")
LA_LOGIT = Variant("Leeds-Anac logit (5 covariates)", kind="la_logit")
BF_LOGIT = Variant("Berkemeier-Fuhrmann logit (era + type)", kind="bf_logit")
PREVIOUS = Variant(
    "hierarchical, one coding per event, midpoint (previous default)",
    one_coding_per_event=True,
    midpoint=True,
)
OWN_CODING = Variant("hierarchical, both codings, own coding")
#: Every variant of the comparison, in table order (docs/calibration.md reports all of them).
VARIANTS = (
    BASE_RATE,
    LA_LOGIT,
    BF_LOGIT,
    PREVIOUS,
    OWN_CODING,
    Variant("hierarchical + partner covariates", extra=PARTNER_COVARIATES),
    Variant("hierarchical + alliance covariates", extra=ALLIANCE_COVARIATES),
)


def fit_logit(x: np.ndarray, y: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton-Raphson; x (n, p), y (n,) -> (p,).

    A tiny ridge (1e-6) keeps the Hessian invertible under separation.
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


def logit_design(cases: pd.DataFrame, kind: str) -> np.ndarray:
    """(n, p) design of a classic logit: ``la_logit`` or ``bf_logit``."""
    cols = LA_COVARIATES if kind == "la_logit" else ("post1945", *TYPE_COLUMNS)
    return np.column_stack([np.ones(len(cases)), cases[list(cols)].to_numpy(float)])


def case_scores(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-case Brier and log scores (n,), from scoringrules."""
    import scoringrules as sr

    p = np.clip(np.asarray(p, float), _EPS, 1 - _EPS)
    y = np.asarray(y, float)
    return np.asarray(sr.brier_score(y, p), float), np.asarray(sr.log_score(y, p), float)


def clustered_mean(values: np.ndarray, clusters: np.ndarray) -> tuple[float, float]:
    """Mean of ``values`` (n,) and its standard error clustered by ``clusters`` (n,)."""
    values = np.asarray(values, float)
    n = len(values)
    mean = float(values.mean())
    frame = pd.DataFrame({"v": values - mean, "g": np.asarray(clusters, str)})
    sums = frame.groupby("g")["v"].sum().to_numpy()
    g = len(sums)
    se = float(np.sqrt(g / max(g - 1, 1) * np.sum(sums**2)) / n)
    return mean, se


def _fit_variant(variant, cases, extra, train, model_config, config, fold):
    rows = train.copy()
    if variant.one_coding_per_event:
        la_events = set(cases.loc[train & (cases["source"] == "LA").to_numpy(), "event"])
        rows &= ~((cases["source"] == "BF") & cases["event"].isin(la_events)).to_numpy()
    w_all = None
    if variant.extra:
        w_train, centre, scale = standardise(extra.loc[rows, list(variant.extra)])
        w_all, _, _ = standardise(extra[list(variant.extra)], centre, scale)
    tree = fit(
        cases[rows],
        model_config,
        draws=config.fold_draws,
        tune=config.fold_tune,
        seed=model_config.sampling.seed + fold,
        log_likelihood=False,
        wars=cases["war"].to_numpy(),
        extra=None if not variant.extra else (w_train, variant.extra),
    )
    return tree, w_all


def cross_validate_variants(
    cases: pd.DataFrame,
    extra: pd.DataFrame,
    folds: np.ndarray,
    model_config: CalibrationModelConfig,
    config: ValidationConfig,
    variants: tuple[Variant, ...] = VARIANTS,
) -> pd.DataFrame:
    """Out-of-sample P(honour) of every variant on every case, (n, len(variants)).

    ``extra`` holds the raw extra covariates (:func:`forecast.calibration.covariates.
    extra_covariates`); each fold standardises them on its training cases. A classic logit
    predicts only the rows of its own dataset (NaN elsewhere).
    """
    y = cases["y"].to_numpy(float)
    out = pd.DataFrame(np.nan, index=cases.index, columns=[v.name for v in variants])
    is_la = (cases["source"] == "LA").to_numpy()
    for k in np.unique(folds):
        test = folds == k
        train = ~test
        for v in variants:
            if v.kind == "base_rate":
                for own in (is_la, ~is_la):
                    out.loc[test & own, v.name] = y[train & own].mean()
                continue
            if v.kind != "hierarchical":
                own = is_la if v.kind == "la_logit" else ~is_la
                coef = fit_logit(logit_design(cases[train & own], v.kind), y[train & own])
                x = logit_design(cases[test & own], v.kind)
                out.loc[test & own, v.name] = 1.0 / (1.0 + np.exp(-(x @ coef)))
                continue
            log.info("fold %d: %s", k + 1, v.name)
            tree, w_all = _fit_variant(v, cases, extra, train, model_config, config, int(k))
            source = (
                np.zeros(test.sum())
                if v.midpoint
                else cases.loc[test, "source"].map(SOURCE_CODE).to_numpy(float)
            )
            draws = predict_cases(
                tree,
                cases[test],
                seed=int(k),
                source=source,
                new_wars=True,
                w=None if w_all is None else w_all[test],
            )
            out.loc[test, v.name] = draws.mean(axis=0)
    return out


def score_table(cases: pd.DataFrame, pred: pd.DataFrame) -> pd.DataFrame:
    """Brier and log score with war-clustered SEs per dataset and variant, and each variant's
    paired difference from that dataset's classic logit (negative: the variant is better)."""
    rows = []
    for dataset, source, base in (
        ("Leeds-Anac", "LA", LA_LOGIT.name),
        ("Berkemeier-Fuhrmann", "BF", BF_LOGIT.name),
    ):
        mask = (cases["source"] == source).to_numpy()
        y = cases["y"].to_numpy(float)[mask]
        wars = cases["war"].to_numpy()[mask]
        b0, l0 = case_scores(pred.loc[mask, base].to_numpy(), y)
        for name in pred.columns:
            p = pred.loc[mask, name].to_numpy()
            if np.isnan(p).any():
                continue
            b, lg = case_scores(p, y)
            row = {"dataset": dataset, "variant": name, "n_cases": int(mask.sum())}
            row["n_wars"] = int(len(set(wars)))
            row["brier"], row["brier_se"] = clustered_mean(b, wars)
            row["log_score"], row["log_score_se"] = clustered_mean(lg, wars)
            row["brier_diff_vs_logit"], row["brier_diff_se"] = clustered_mean(b - b0, wars)
            row["log_diff_vs_logit"], row["log_diff_se"] = clustered_mean(lg - l0, wars)
            rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(table: pd.DataFrame) -> str:
    """The score table as Markdown: mean (SE) per score, paired difference from the logit."""
    lines = [
        "| dataset | variant | Brier (SE) | log score (SE) | Brier minus logit (SE) "
        "| log score minus logit (SE) |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.dataset} ({r.n_cases} cases, {r.n_wars} wars) | {r.variant} "
            f"| {r.brier:.3f} ({r.brier_se:.3f}) | {r.log_score:.3f} ({r.log_score_se:.3f}) "
            f"| {r.brier_diff_vs_logit:+.3f} ({r.brier_diff_se:.3f}) "
            f"| {r.log_diff_vs_logit:+.3f} ({r.log_diff_se:.3f}) |"
        )
    return "\n".join(lines)
