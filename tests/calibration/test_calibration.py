"""The hierarchical model of P(honour): likelihood code, fit, posterior file, predictions.

Runs the real PyMC model on the real files; the posterior is the session's one small fit
(tests/calibration/conftest.py).
"""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hydra import compose, initialize_config_dir
from scipy import special

from forecast.calibration import fit as cal
from forecast.calibration.data import LA_COVARIATES, LA_LEVELS
from forecast.calibration.predict import _predict_probabilities
from forecast.config.calibration import (
    CalibrateConfig,
    CalibrationConfigError,
    CalibrationModelConfig,
    register_configs,
    validate_config,
)

HERE = Path(__file__).resolve().parents[1]
REPO = HERE.parent
DATA = Path(os.environ.get("FORECAST_DATA_DIR", REPO.parent / "shared" / "data"))


def quick_model_config(draws: int = 200, tune: int = 300) -> CalibrationModelConfig:
    cfg = CalibrationModelConfig()
    cfg.sampling.draws, cfg.sampling.tune = draws, tune
    cfg.sampling.chains, cfg.sampling.cores = 2, 1
    cfg.sampling.progress = False
    return cfg


# ------------------------------------------------------------------------ likelihood code


def _brute_force_p(eta, gamma, pi, z, missing, era):
    """P(honour) for one case by explicit enumeration of its unknown covariates."""
    cols = [j for j in range(5) if missing[j]]
    total = 0.0
    for values in itertools.product(*[LA_LEVELS[LA_COVARIATES[j]] for j in cols]):
        zz = z.copy()
        weight = 1.0
        for j, v in zip(cols, values, strict=True):
            zz[j] = v
            weight *= pi[j][era][v]
        total += weight * special.expit(eta + zz @ gamma)
    return total


def test_sum_over_unknown_covariates_matches_brute_force():
    rng = np.random.default_rng(3)
    n = 12
    frame = pd.DataFrame(
        {
            "war": "w",
            "post1945": rng.integers(0, 2, n).astype(float),
            **{e: rng.integers(0, 2, n).astype(float) for e in cal.EFFECTS[1:]},
            "milinst": rng.integers(0, 3, n).astype(float),
            "formal": rng.integers(0, 3, n).astype(float),
            "chcap2d": rng.integers(0, 2, n).astype(float),
            "dinstch2": rng.integers(0, 2, n).astype(float),
            "origtar1": rng.integers(0, 2, n).astype(float),
            "source": "BF",
        }
    )
    frame = frame.mask(
        rng.random((n, len(frame.columns))) < 0.4 * frame.columns.isin(LA_COVARIATES)
    )
    frame.loc[0, list(LA_COVARIATES)] = np.nan  # one case with nothing known
    design = cal.design_from_cases(frame)
    gamma = rng.normal(size=5)
    pi = [rng.dirichlet(np.ones(len(LA_LEVELS[c])), size=2) for c in LA_COVARIATES]
    log_pi = np.full((5, 2, 3), -np.inf)
    for j, p in enumerate(pi):
        log_pi[j, :, : p.shape[1]] = np.log(p)
    eta_base = rng.normal(size=n)
    draws = {
        "alpha": np.zeros(1),
        "beta": np.zeros((1, len(cal.EFFECTS))),
        "delta_source": np.zeros(1),
        "gamma": gamma[None],
        "log_pi": log_pi[None],
    }
    got = _predict_probabilities(draws, design, eta_base[None])[0]
    want = [
        _brute_force_p(eta_base[i], gamma, pi, design.z[i], design.missing[i], design.era[i])
        for i in range(n)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_model_likelihood_equals_the_numpy_predictive(cases):
    """The PyMC graph and the numpy predictive code compute the same P(honour)."""
    model = cal.build_model(cases, CalibrationModelConfig().priors)
    point = model.initial_point(random_seed=7)
    rng = np.random.default_rng(7)
    point = {k: v + rng.normal(scale=0.3, size=np.shape(v)) for k, v in point.items()}
    loglik = model.compile_fn(model.logp(vars=[model["y"]], sum=False)[0], point_fn=True)(point)
    names = ["alpha", "beta", "delta_source", "gamma", "sigma_war", "u_war", "log_pi"]
    outs = model.replace_rvs_by_values([model[n] for n in names])
    values = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")(point)
    draws = {n: np.asarray(v)[None] for n, v in zip(names, values, strict=True)}
    design = cal.design_from_cases(cases)
    war_idx = pd.Index(model.coords["war"]).get_indexer(design.war.astype(str))
    p = _predict_probabilities(draws, design, draws["u_war"][:, war_idx])[0]
    y = cases["y"].to_numpy()
    np.testing.assert_allclose(loglik, y * np.log(p) + (1 - y) * np.log1p(-p), rtol=1e-8)


# ---------------------------------------------------------------------------------- fit


def test_posterior_file_keeps_chain_draw_and_provenance(posterior):
    tree = cal.load_posterior(posterior)
    post = tree["posterior"]
    assert post["beta"].dims == ("chain", "draw", "effect")
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 150
    assert list(post["effect"].values) == list(cal.EFFECTS)
    assert "log_likelihood" in tree.children and tree["log_likelihood"]["y"].sizes["case"] == 232
    assert tree.attrs["created_by"] == "forecast-calibrate"
    assert "posterior_predictive" in tree.children
    for key in ("diagnostics_rhat_max", "diagnostics_ess_bulk_min", "diagnostics_divergences"):
        assert np.isfinite(tree.attrs[key])


def test_effects_have_the_historical_signs(posterior):
    post = cal.load_posterior(posterior)["posterior"]
    beta = post["beta"].mean(("chain", "draw"))
    gamma = post["gamma"].mean(("chain", "draw"))
    # After 1945 commitments were honoured far less often (BF: 66% -> 22%).
    assert float(beta.sel(effect="post1945")) < -0.3
    # Neutrality pacts are the most reliable type (78%), more than defence pacts (41%).
    assert float(beta.sel(effect="neutral")) > float(beta.sel(effect="defense"))
    # Leeds & Anac: formal institutions, capability change, ally of the original target lower it.
    for name in ("formal", "chcap2d", "origtar1"):
        assert float(gamma.sel(la_covariate=name)) < 0, name


def test_failed_convergence_check_is_logged_not_raised(posterior, caplog):
    tree = cal.load_posterior(posterior)
    with caplog.at_level(logging.WARNING, logger="forecast.calibration.fit"):
        result = cal.check_convergence(tree, rhat_max=1.5, ess_min=1e9)
    assert result["ok"] == 0
    assert "CONVERGENCE CHECK FAILED" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="forecast.calibration.fit"):
        assert cal.check_convergence(tree, rhat_max=1.5, ess_min=10)["ok"] == 1
    assert caplog.text == ""


# ------------------------------------------------------------------- predict_willingness

PARTNERS = [
    {"commitment": "defense", "post1945": True, "multilateral": True},
    {"commitment": "defense", "post1945": False, "multilateral": True},
    {"commitment": "neutrality", "post1945": False, "multilateral": False, "milinst": 0.0},
    {"commitment": "none", "post1945": True, "multilateral": False, "origtar1": None},
]


def test_predict_willingness_shape_range_and_determinism(posterior):
    a = cal.predict_willingness(posterior, PARTNERS, 500, seed=1)
    b = cal.predict_willingness(str(posterior), PARTNERS, 500, seed=1)
    c = cal.predict_willingness(cal.load_posterior(posterior), PARTNERS, 500, seed=2)
    assert a.shape == (500, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all((a > 0) & (a < 1))
    # more draws than the posterior holds: resampled with replacement
    assert cal.predict_willingness(posterior, PARTNERS[:1], 1000, seed=1).shape == (1000, 1)


def test_predict_willingness_orders_like_the_record(posterior):
    p = cal.predict_willingness(posterior, PARTNERS, 2000, seed=3).mean(axis=0)
    assert p[0] < p[1] - 0.15  # post-1945 defence well below pre-1945 defence
    assert p[2] > p[1]  # neutrality above defence


def test_partners_in_one_war_are_correlated(posterior):
    """One new war effect per draw is shared by all partners."""
    same = [{"commitment": "defense", "post1945": True, "multilateral": False}] * 2
    p = special.logit(cal.predict_willingness(posterior, same, 4000, seed=4))
    np.testing.assert_array_equal(p[:, 0], p[:, 1])
    two = special.logit(cal.predict_willingness(posterior, PARTNERS[:2], 4000, seed=4))
    assert np.corrcoef(two.T)[0, 1] > 0.3


def test_unknown_covariates_are_integrated_not_zeroed(posterior):
    base = {"commitment": "defense", "post1945": False, "multilateral": False}
    unknown = cal.predict_willingness(posterior, [base], 3000, seed=5).mean()
    none = cal.predict_willingness(posterior, [base | {"chcap2d": None}], 3000, seed=5).mean()
    zero = cal.predict_willingness(posterior, [base | {"chcap2d": 0.0}], 3000, seed=5).mean()
    one = cal.predict_willingness(posterior, [base | {"chcap2d": 1.0}], 3000, seed=5).mean()
    assert unknown == none
    assert one < unknown < zero  # a mixture of the two known values


def test_selection_shift_raises_willingness(posterior):
    known = {k: 0.0 for k in LA_COVARIATES}
    partners = [PARTNERS[0] | known, PARTNERS[1]]
    plain = cal.predict_willingness(posterior, partners, 1000, seed=6)
    shifted = cal.predict_willingness(posterior, partners, 1000, seed=6, selection_shift=(0.5, 0.0))
    # The shift acts on each case's log-odds: exact where every covariate is known, ...
    np.testing.assert_allclose(special.logit(shifted[:, 0]), special.logit(plain[:, 0]) + 0.5)
    # ... and through the mixture over unknown covariates otherwise.
    assert np.all(shifted[:, 1] > plain[:, 1])


def test_bad_covariates_are_all_reported(posterior):
    bad = [
        {"commitment": "alliance", "post1945": True, "multilateral": False},
        {"commitment": "defense", "post1945": "yes", "multilateral": False, "milinst": 5},
        {"commitment": "defense", "post1945": True, "multilateral": False, "colour": 1},
    ]
    with pytest.raises(ValueError) as err:
        cal.predict_willingness(posterior, bad, 10, seed=0)
    msg = str(err.value)
    assert msg.startswith("4 problem(s)")
    assert "covariates[0].commitment = 'alliance'" in msg
    assert "covariates[1].post1945 = 'yes'" in msg
    assert "covariates[1].milinst = 5" in msg
    assert "covariates[2]: unknown keys ['colour']" in msg


def test_predict_cases_uses_fitted_war_effects(posterior, cases):
    from forecast.calibration.cases import load_tables
    from forecast.calibration.covariates import extra_covariates, load_state_years

    tree = cal.load_posterior(posterior)
    with pytest.raises(ValueError, match="extra covariates"):
        cal.predict_cases(tree, cases.head(20), seed=0)
    raw = extra_covariates(cases.head(20), load_tables(DATA), load_state_years(DATA))
    head = pd.concat([cases.head(20), raw], axis=1)
    inside = cal.predict_cases(tree, head, seed=0)
    fresh = cal.predict_cases(tree, head, seed=0, new_wars=True)
    assert inside.shape == fresh.shape == (300, 20)
    # in-sample fit beats the base rate
    y = cases["y"].to_numpy()[:20]
    assert np.mean((inside.mean(0) - y) ** 2) < np.mean((y.mean() - y) ** 2)


# ------------------------------------------------------------------------------ configs


def test_every_calibrate_config_composes_and_validates():
    register_configs()
    groups = sorted(p.stem for p in (REPO / "configs" / "calibration").glob("*.yaml"))
    assert {"default", "quick", "selection"} <= set(groups)
    with initialize_config_dir(str(REPO / "configs"), version_base="1.3"):
        for name in groups:
            cfg = compose("calibrate", overrides=[f"calibration={name}"])
            validate_config(cfg)
            assert cfg.calibration.priors.intercept.dist == "Normal"


def test_config_errors_are_collected_with_their_paths():
    cfg = CalibrateConfig()
    cfg.calibration.sampling.draws = 0
    cfg.calibration.sampling.target_accept = 1.5
    cfg.calibration.priors.effects.sigma = -1.0
    cfg.calibration.priors.war_sd.dist = "Normal"
    cfg.validation.folds = 1
    with pytest.raises(CalibrationConfigError) as err:
        validate_config(cfg)
    msg = str(err.value)
    assert msg.startswith("5 errors in the configuration")
    assert "calibration.sampling.draws = 0" in msg
    assert "calibration.sampling.target_accept = 1.5" in msg
    assert "calibration.priors.effects.sigma = -1.0: must be > 0" in msg
    assert "calibration.priors.war_sd.dist = 'Normal'" in msg
    assert "validation.folds = 1" in msg


def test_priors_are_config_data(cases):
    priors = CalibrationModelConfig().priors
    priors.intercept.sigma = 0.1
    priors.intercept.mu = 2.0
    model = cal.build_model(cases, priors)
    draws = xr.DataArray(
        __import__("pymc").draw(model["alpha"], draws=4000, random_seed=1)
    ).to_numpy()
    assert draws.mean() == pytest.approx(2.0, abs=0.02)
    assert draws.std() == pytest.approx(0.1, rel=0.05)
