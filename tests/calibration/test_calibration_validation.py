"""Validation: scores, CORP and baselines against closed forms; grouped cross-validation and
SBC on the real model and data (marked slow); PSIS-LOO on the session posterior."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from forecast.calibration import comparison as cmp
from forecast.calibration import reliability as rel
from forecast.calibration import validation as val
from forecast.calibration.data import load_leeds_anac
from forecast.config.calibration import CalibrationModelConfig, ValidationConfig

HERE = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FORECAST_DATA_DIR", HERE.parents[1] / "shared" / "data"))


def small_model_config() -> CalibrationModelConfig:
    cfg = CalibrationModelConfig()
    cfg.sampling.chains, cfg.sampling.cores, cfg.sampling.progress = 2, 1, False
    return cfg


# ------------------------------------------------------------------------ closed forms


def test_scores_against_hand_computed_values():
    p = np.array([0.9, 0.2, 0.5])
    y = np.array([1, 0, 1])
    assert val.brier_score(p, y) == pytest.approx((0.01 + 0.04 + 0.25) / 3)
    assert val.log_loss(p, y) == pytest.approx(-(np.log(0.9) + np.log(0.8) + np.log(0.5)) / 3)
    # a certain miss stays finite
    assert np.isfinite(val.log_loss(np.array([0.0]), np.array([1])))


def test_logit_fit_is_the_maximum_likelihood_estimate():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(400), rng.normal(size=(400, 2))])
    y = (rng.random(400) < 1 / (1 + np.exp(-(x @ [0.5, -1.0, 2.0])))).astype(float)
    coef = val.fit_logit(x, y)

    def nll(b):
        eta = x @ b
        return np.sum(np.logaddexp(0, eta) - y * eta)

    ref = optimize.minimize(nll, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(coef, ref, atol=1e-4)


def test_leeds_anac_logit_refit_has_the_published_signs():
    """Refit on this training split: same signs as Leeds & Anac (2005), similar size."""
    la = load_leeds_anac(DATA)
    x = np.column_stack([np.ones(len(la)), la[list(val.LA_LOGIT_TERMS[1:])].to_numpy()])
    coef = dict(zip(val.LA_LOGIT_TERMS, val.fit_logit(x, la["honor3"].to_numpy()), strict=True))
    for term, published in val.LA_PUBLISHED.items():
        assert np.sign(coef[term]) == np.sign(published), term
        assert abs(coef[term] - published) < 1.5, term
    # In sample it classifies about 80% correctly (published: 81.8% on all 137 cases).
    p = 1 / (1 + np.exp(-(x @ np.array(list(coef.values())))))
    assert np.mean((p > 0.5) == la["honor3"].to_numpy()) > 0.75


def test_folds_never_split_a_war_and_are_balanced(cases):
    folds = val.war_folds(cases["war"].to_numpy(), 5, seed=5)
    assert (
        cases.groupby("war")
        .apply(lambda g: folds[cases.index.get_indexer(g.index)])
        .map(lambda f: len(set(f)))
        .eq(1)
        .all()
    )
    sizes = np.bincount(folds)
    assert len(sizes) == 5 and sizes.min() > 0
    # the largest war (WWII) bounds the imbalance
    assert sizes.max() <= max(cases["war"].value_counts().max(), 1.5 * len(cases) / 5)
    np.testing.assert_array_equal(folds, val.war_folds(cases["war"].to_numpy(), 5, seed=5))


def test_corp_pav_is_the_isotonic_least_squares_fit():
    """PAV of the outcomes on the forecasts: monotone, and no monotone step function of the
    forecasts has a smaller Brier score (checked against brute force over small cases)."""
    rng = np.random.default_rng(3)
    p = np.sort(rng.random(8))
    y = (rng.random(8) < p).astype(float)
    x, fit = rel.pav(p, y)
    assert np.all(np.diff(fit) >= -1e-12)
    best = np.mean((fit - y) ** 2)
    # every monotone 0/1/0.5-grid step function is no better
    import itertools

    for levels in itertools.product((0.0, 0.25, 0.5, 0.75, 1.0), repeat=4):
        if np.all(np.diff(levels) >= 0):
            cand = np.repeat(levels, 2)
            assert np.mean((cand - y) ** 2) >= best - 1e-12


def test_corp_decomposition_is_exact_and_flags_miscalibration():
    rng = np.random.default_rng(4)
    p = rng.random(400)
    y = (rng.random(400) < p).astype(float)
    good = rel.corp(p, y, n_resamples=200)
    assert good["brier"] == pytest.approx(good["mcb"] - good["dsc"] + good["unc"])
    assert good["unc"] == pytest.approx(y.mean() * (1 - y.mean()))
    # forecasts pushed towards 1 are miscalibrated: MCB grows, the PAV curve leaves the band
    bad = rel.corp(np.sqrt(p), y, n_resamples=200)
    assert bad["mcb"] > 2 * good["mcb"]
    assert np.mean((bad["pav"] < bad["lower"]) | (bad["pav"] > bad["upper"])) > 0.3


def test_corp_plot_writes_a_png_with_provenance(tmp_path):
    rng = np.random.default_rng(5)
    p = rng.random(50)
    y = (rng.random(50) < p).astype(float)
    png = rel.plot_corp(
        {"a": rel.corp(p, y, n_resamples=50), "b": rel.corp(p, y, n_resamples=50)},
        tmp_path / "r.png",
        provenance={"git_revision": "abc123"},
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"abc123" in png.read_bytes()
    assert not list(tmp_path.glob(".*tmp*"))


def test_clustered_standard_error_matches_the_closed_form():
    """With one case per cluster the clustered SE is the usual SE of the mean."""
    rng = np.random.default_rng(6)
    v = rng.normal(size=50)
    mean, se = cmp.clustered_mean(v, np.arange(50))
    assert mean == pytest.approx(v.mean())
    assert se == pytest.approx(v.std(ddof=1) / np.sqrt(50))
    # perfectly correlated pairs: twice the cases, the same information
    mean2, se2 = cmp.clustered_mean(np.repeat(v, 2), np.repeat(np.arange(50), 2))
    assert mean2 == pytest.approx(mean) and se2 == pytest.approx(se)


def test_classic_logits_cross_validate_on_their_own_dataset(cases):
    folds = val.war_folds(cases["war"].to_numpy(), 5, seed=5)
    pred = cmp.cross_validate_variants(
        cases, pd.DataFrame(index=cases.index), folds, None, None, (cmp.LA_LOGIT, cmp.BF_LOGIT)
    )
    la = (cases["source"] == "LA").to_numpy()
    assert pred.loc[la, cmp.LA_LOGIT.name].notna().all()
    assert pred.loc[~la, cmp.LA_LOGIT.name].isna().all()
    assert pred.loc[~la, cmp.BF_LOGIT.name].notna().all()
    table = cmp.score_table(cases, pred)
    assert set(table["dataset"]) == {"Leeds-Anac", "Berkemeier-Fuhrmann"}
    assert (table["brier_diff_vs_logit"] == 0).all()  # each logit against itself
    # both logits beat the base rate out of sample (base rate Brier ~ 0.20 / 0.25)
    assert table["brier"].max() < 0.22


# ------------------------------------------------------------------ real model, slow


@pytest.mark.slow
def test_grouped_cross_validation_scores_the_model_against_both_logits(cases):
    cfg = ValidationConfig(folds=5, fold_seed=5, fold_draws=150, fold_tune=250)
    pred, table = val.cross_validate(cases, small_model_config(), cfg)
    # no war on both sides of a split
    assert pred.groupby("war")["fold"].nunique().eq(1).all()
    assert pred[val.MODEL_LABEL].notna().all()
    model = table[table["variant"] == val.MODEL_LABEL].set_index("dataset")
    assert model.loc["Leeds-Anac", "n_cases"] == 110
    assert model.loc["Berkemeier-Fuhrmann", "n_cases"] == 122
    # the model in its own coding is at least close to each logit (see docs for the full table)
    assert (model["brier_diff_vs_logit"] < 0.02).all()


@pytest.mark.slow
def test_simulation_based_calibration_covers(cases):
    """12 refits of data simulated from the prior. Coverage of central 90% (50%) intervals is
    checked within bounds that a correct model misses with probability well below 1%
    (168 intervals, correlated within a simulation); the ECDF-PIT of the ranks leaves its
    simultaneous 95% band for at most 3 of 14 parameters (a correct model: ~0.7 expected)."""
    cfg = ValidationConfig(sbc_simulations=12, sbc_draws=100, sbc_tune=200, sbc_seed=11)
    res = val.simulation_based_calibration(cases, small_model_config(), cfg)
    assert res["n_simulations"] == 12
    assert 0.75 <= res["coverage_90"] <= 0.99
    assert 0.30 <= res["coverage_50"] <= 0.70
    assert set(res["parameters"]) >= {"alpha", "sigma_war", "beta[post1945]", "gamma[formal]"}
    assert all(len(r) == 12 for r in res["ranks"].values())
    assert res["n_parameters_outside_ecdf_band"] <= 3


def test_sbc_summary_flags_non_uniform_ranks():
    """Uniform ranks stay inside the ECDF-PIT band; ranks piled at the top leave it."""
    rng = np.random.default_rng(7)
    n_post = 100
    ranks = {"ok": rng.integers(0, n_post + 1, 200).tolist(), "bad": [n_post] * 200}
    inside = {k: [True] * 200 for k in ranks}
    res = val.sbc_summary(ranks, inside, inside, n_post, 200, seed=1)
    assert res["parameters"]["ok"]["ecdf_inside_95_band"]
    assert not res["parameters"]["bad"]["ecdf_inside_95_band"]
    assert res["n_parameters_outside_ecdf_band"] == 1


def test_psis_loo_by_case_and_by_war(calibration_run, cases):
    from forecast.calibration.predict import load_posterior

    tree = load_posterior(calibration_run["written"]["posterior"])
    loo = val.psis_loo(tree, cases["war"].to_numpy())
    assert loo["case"]["n_points"] == 232 and loo["war"]["n_points"] == 39
    for part in loo.values():
        assert np.isfinite(part["elpd_loo"]) and part["elpd_loo"] < 0
        assert 0 < part["p_loo"] < 40
    # leaving whole wars out is harder than leaving single cases out
    assert loo["war"]["se"] > loo["case"]["se"]
