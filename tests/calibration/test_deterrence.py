"""The initiation model, its joint model with honouring, and ``forecast-calibrate
calibration=deterrence``, on the real data with a quick config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from forecast.calibration import initiation as ini
from forecast.calibration import initiation_validation as val
from forecast.calibration import joint
from forecast.config.deterrence import DeterrenceConfig, validate_deterrence
from forecast.config.errors import ConfigError
from forecast.config.loading import load_config

REPO = Path(__file__).resolve().parents[2]


def quick_deterrence(data_dir, *overrides):
    return load_config(
        [
            f"data_dir={data_dir}",
            "calibration=deterrence_quick",
            "validation.enabled=false",
            *overrides,
        ],
        config_name="calibrate",
    )


@pytest.fixture(scope="session")
def deterrence_run(data_dir, tmp_path_factory):
    """One quick real run (initiation fit, joint fit, predictions), shared by the tests and
    the notebook test."""
    from forecast.jobs.deterrence import run_deterrence

    out = tmp_path_factory.mktemp("deterrence_run")
    dyad_file = out / "dyads.csv"
    dyad_file.write_text("ccode1,ccode2,year\n710,713,1995\n365,366,2005\n20,900,1990\n")
    cfg = quick_deterrence(data_dir, f"predict={dyad_file}")
    result = run_deterrence(cfg, out)
    return out, result


# ---------------------------------------------------------------------------------------------
# Closed forms and references
# ---------------------------------------------------------------------------------------------


def test_case_control_offset_recovers_the_population_intercept():
    """King & Zeng: keeping all events and a fraction f of non-events shifts the logit's
    intercept by log(1/f) and leaves the slopes alone. 200 000 rows, fixed seed; the tolerance
    is about 4 standard errors, so this fails far less than 1 time in 1000."""
    rng = np.random.default_rng(7)
    n = 200_000
    x = rng.normal(size=(n, 2))
    true = np.array([-5.0, 0.8, -0.5])
    p = 1 / (1 + np.exp(-(true[0] + x @ true[1:])))
    frame = pd.DataFrame({"y": (rng.random(n) < p).astype(float), "year": 1900})
    sample, offset = ini.case_control_sample(frame, 0.05, seed=3)
    assert np.isclose(offset, np.log(20))
    assert sample["y"].sum() == frame["y"].sum()  # every event kept
    b = val.fit_plain_logit(x[sample.index], sample["y"].to_numpy(), offset)
    np.testing.assert_allclose(b, true, atol=0.12)
    # without the correction the intercept is off by log(1/f)
    b0 = val.fit_plain_logit(x[sample.index], sample["y"].to_numpy(), 0.0)
    assert abs(b0[0] - (true[0] + np.log(20))) < 0.12


def test_plain_logit_matches_scipy():
    from scipy.optimize import minimize

    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 2))
    y = (rng.random(500) < 1 / (1 + np.exp(-(0.3 + x @ [1.0, -1.0])))).astype(float)

    def nll(b):
        eta = 0.5 + b[0] + x @ b[1:]
        return np.sum(np.logaddexp(0, eta) - y * eta)

    ref = minimize(nll, np.zeros(3), method="BFGS").x
    np.testing.assert_allclose(val.fit_plain_logit(x, y, 0.5), ref, atol=1e-4)


def test_scores_and_their_differences():
    y = np.array([1.0, 0.0, 0.0, 1.0])
    p = np.array([0.9, 0.2, 0.1, 0.6])
    out = val.score({"model": p, "base rate": np.full(4, 0.5)}, y, np.array([1, 1, 2, 2]))
    assert np.isclose(out["model"]["brier"], np.mean((p - y) ** 2))
    assert np.isclose(out["model"]["log"], -np.mean(np.log(np.where(y == 1, p, 1 - p))))
    d = out["model - base rate"]
    assert np.isclose(d["log"], out["model"]["log"] - out["base rate"]["log"])
    assert d["log_se"] > 0 and d["log_se_dyad"] >= 0


def test_within_horizon_is_one_minus_survival():
    np.testing.assert_allclose(ini.within_horizon(np.array([0.1, 0.0]), 3), [1 - 0.9**3, 0.0])


def test_selection_effect_closed_forms():
    """No loading: initiation does not select, the two honour rates agree. A negative loading
    (reliable alliances deter) makes the initiated crises less reliable; the quadrature agrees
    with Monte Carlo (10^6 draws: tolerance ~10 standard errors)."""
    a = np.array([0.5, 0.5])
    b = np.zeros((2, len(joint.HONOUR_COVARIATES)))
    out = joint.selection_effect(a, b, np.array([1.0, 1.0]), np.array([0.0, -1.0]))
    assert abs(out["difference"][0]) < 1e-12
    assert out["difference"][1] > 0 and out["logit_shift"][1] > 0
    rng = np.random.default_rng(0)
    r = rng.normal(0, 1.0, 1_000_000)
    h = 1 / (1 + np.exp(-(0.5 + r)))
    p = 1 / (1 + np.exp(-(joint.REFERENCE_LOGIT - r)))
    assert abs(out["p_honour_initiated"][1] - np.sum(h * p) / np.sum(p)) < 0.005
    assert abs(out["p_honour_all"][1] - h.mean()) < 0.003


def test_config_rules_report_every_problem(data_dir):
    cfg = quick_deterrence(
        data_dir,
        "calibration.deterrence.control_fraction=0",
        "validation.cut_year=2012",
        "calibration.deterrence.joint.loading.sigma=-1",
    )
    with pytest.raises(ConfigError) as err:
        validate_deterrence(cfg)
    msg = str(err.value)
    assert "3 errors" in msg
    assert "calibration.deterrence.control_fraction = 0.0" in msg
    assert "validation.cut_year = 2012" in msg
    assert "calibration.deterrence.joint.loading.sigma = -1.0" in msg
    assert DeterrenceConfig().control_fraction == 0.02


def test_unknown_key_is_rejected_by_the_schema(data_dir):
    with pytest.raises(ConfigError, match="bogus"):
        quick_deterrence(data_dir, "calibration.deterrence.bogus=1")


# ---------------------------------------------------------------------------------------------
# The quick real run
# ---------------------------------------------------------------------------------------------


def test_run_writes_posterior_predictions_and_joint(deterrence_run):
    out, result = deterrence_run
    assert {
        "posterior",
        "predictions",
        "predictions_provenance",
        "joint_posterior",
        "selection_png",
        "summary",
    } <= set(result["written"])
    tree = ini.load_posterior(out / "posterior.nc")
    post = tree["posterior"]
    assert post["beta"].dims == ("chain", "draw", "covariate")
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 150
    assert tree.attrs["control_fraction"] == 0.01
    assert np.isclose(tree.attrs["intercept_offset"], np.log(100))
    # the fit sees the population intercept: a base rate near the data's (~1.4 per 1000)
    s = result["summary"]
    assert s["sample"]["n_events"] > 2000
    pred = pd.read_csv(out / "predictions.csv")
    assert list(pred.columns) == [
        "ccode1",
        "ccode2",
        "year",
        "p_initiation",
        "p_initiation_q05",
        "p_initiation_q95",
    ]
    assert not (out / "predictions.csv").read_text().startswith("#")
    assert (
        (pred["p_initiation_q05"] <= pred["p_initiation"])
        & (pred["p_initiation"] <= pred["p_initiation_q95"])
    ).all()
    # China-Taiwan 1995 (rivals, neighbours, a major power) far above Canada-Australia 1990
    assert pred["p_initiation"][0] > 10 * pred["p_initiation"][2]
    prov = json.loads((out / "predictions.json").read_text())
    assert "git_revision" in prov and "p_initiation" in prov["columns"]
    sel = s["selection"]
    assert set(sel["logit_shift"]) == {"prior", "posterior"}
    assert sel["recommended_shift"]["source"]


def test_annual_propensity_and_counterfactuals(deterrence_run, data_dir):
    from forecast.calibration.dyads import load_dyad_tables

    out, _ = deterrence_run
    tables = load_dyad_tables(data_dir)
    frame = ini.dyad_frame(tables, 710, 713, 2026)
    p = ini.annual_propensity(out / "posterior.nc", frame)
    assert p.dims == ("draw", "case") and p.sizes["draw"] == 300
    assert ((p > 0) & (p < 1)).all()
    tree = ini.load_posterior(out / "posterior.nc")
    beta = ini.draws(tree)["beta"]
    k = list(ini.COVARIATES)
    no_pact = p.sel(case="target without defence pacts").to_numpy()
    major = p.sel(case="target with a major-power defence pact").to_numpy()
    logit = np.log(major / (1 - major)) - np.log(no_pact / (1 - no_pact))
    np.testing.assert_allclose(
        logit,
        beta[:, k.index("def_applies")] + beta[:, k.index("def_applies_major")],
        rtol=1e-8,
        atol=1e-10,
    )
    table = ini.horizon_table(p, [1, 5])
    assert (table["5y mean"] >= table["1y mean"]).all()


def test_module_command_prints_the_horizon_table(deterrence_run, data_dir):
    out, _ = deterrence_run
    env = os.environ | {"PYTHONPATH": str(REPO), "FORECAST_DATA_DIR": str(data_dir)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "forecast.calibration.initiation",
            str(out / "posterior.nc"),
            "365",
            "366",
            "2026",
            "--horizons",
            "1,10",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "P(initiation by 365 against 366 within N years from 2026)" in run.stdout
    assert "10y mean" in run.stdout and "target without defence pacts" in run.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "forecast.calibration.initiation",
            str(out / "posterior.nc"),
            "365",
            "366",
            "1960",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert bad.returncode == 2 and "not a pair of system members in 1960" in bad.stderr


def test_cli_reuses_a_posterior_and_rejects_a_bad_predict_file(deterrence_run, data_dir, tmp_path):
    out, _ = deterrence_run
    good = tmp_path / "good.csv"
    good.write_text("ccode1,ccode2,year\n710,713,2000\n")
    env = os.environ | {"PYTHONPATH": str(REPO)}
    base = [
        sys.executable,
        "-m",
        "forecast.cli.calibrate",
        "calibration=deterrence_quick",
        f"data_dir={data_dir}",
        f"posterior={out / 'posterior.nc'}",
        "validation.enabled=false",
        "calibration.deterrence.joint.enabled=false",
    ]
    run = subprocess.run(
        [*base, f"predict={good}", f"hydra.run.dir={tmp_path / 'ok'}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "ok" / "predictions.csv").is_file()
    assert not (tmp_path / "ok" / "posterior.nc").exists()  # reused, not refitted
    bad = tmp_path / "bad.csv"
    bad.write_text("ccode1,ccode2,year\n710,713,2000\n713,710,1900\n")
    run = subprocess.run(
        [*base, f"predict={bad}", f"hydra.run.dir={tmp_path / 'bad'}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 2
    assert "line 3: ccode1 = 713, ccode2 = 710, year = 1900" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "bad" / "predictions.csv").exists()


def test_joint_posterior_has_prior_and_posterior(deterrence_run):
    out, result = deterrence_run
    with xr.open_datatree(out / "joint_posterior.nc", engine="h5netcdf") as tree:
        assert {"posterior", "prior"} <= set(tree.children)
        assert tree["posterior"]["loading"].dims == ("chain", "draw")
        assert tree["prior"]["loading"].dims == ("chain", "draw")
    sel = result["summary"]["selection"]
    assert sel["n_honour_cases_linked"] > 0
    assert 0 < sel["p_honour_all"]["posterior"]["mean"] < 1


# ---------------------------------------------------------------------------------------------
# Slow: validation
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_temporal_validation_and_sbc(data_dir):
    """Fit to 1990 and score 1991-2010; the model should beat the base rate by more than two
    dyad-clustered standard errors (it knows contiguity, distance and major powers). SBC of the
    reduced model with 20 simulations: 90% intervals should cover at least 75% of the 80 true
    values (binomial tail below that ~1e-3 for a calibrated posterior)."""
    from forecast.calibration.dyads import dyad_years, load_dyad_tables

    cfg = quick_deterrence(
        data_dir,
        "validation.sbc_simulations=20",
        "validation.sbc_draws=100",
        "validation.sbc_tune=150",
    )
    det = DeterrenceConfig(control_fraction=0.01)
    det.sampling.draws, det.sampling.tune, det.sampling.cores = 150, 200, 1
    frame, _ = dyad_years(load_dyad_tables(data_dir))
    v = cfg.validation
    v.fold_draws, v.fold_tune = 150, 200
    result, pred = val.temporal(frame, det, v)
    d = result["all"]["model - base rate"]
    assert d["log"] < -2 * d["log_se_dyad"]
    assert result["test_years"] == [1991, 2010]
    sbc = val.simulation_based_calibration(frame[frame["y"].notna()], det, v)
    assert sbc["coverage_90"] >= 0.75


def test_deterrence_notebook_executes(deterrence_run, data_dir, tmp_path, monkeypatch):
    from tests.conftest import execute_notebook

    out, _ = deterrence_run
    monkeypatch.setenv("FORECAST_DETERRENCE_RUN", str(out))
    monkeypatch.setenv("FORECAST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    outputs, text = execute_notebook(REPO / "notebooks" / "deterrence.ipynb", tmp_path, timeout=600)
    assert "initiations in" in text and "max R-hat" in text
    assert "China -> Taiwan, 2026" in text and "Russia -> Estonia, 2026" in text
    assert "selection shift to use: N(" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # pact effects, prior vs posterior


@pytest.mark.slow
def test_nutpie_and_pymc_agree(deterrence_run, data_dir):
    """Refit the quick run's model with PyMC's NUTS on the same case-control sample and compare
    each coefficient's posterior mean with nutpie's: |difference| / sqrt(MCSE_1^2 + MCSE_2^2)
    under 4.5 for every one of the ~20 coefficients (a false alarm about 1 in 10^4 per
    coefficient if both are right; the MCSEs are estimated, so the bound is loose)."""
    import arviz_stats as azs
    import xarray as xr

    from forecast.calibration.dyads import dyad_years, load_dyad_tables
    from forecast.config.deterrence import DeterrenceConfig

    out, _ = deterrence_run
    nut = ini.load_posterior(out / "posterior.nc")
    assert nut.attrs["control_fraction"] == 0.01
    det = DeterrenceConfig(control_fraction=0.01)
    det.sampling.draws, det.sampling.tune, det.sampling.cores = 300, 300, 2
    det.sampling.sampler = "pymc"
    det.sampling.seed = 20261201  # the quick config's seed: the same case-control sample
    frame, _ = dyad_years(load_dyad_tables(data_dir))
    ref = ini.fit(frame[frame["y"].notna()], det)
    assert ref.attrs["n_fitted_rows"] == nut.attrs["n_fitted_rows"]
    z = []
    for name in ("alpha", "beta"):
        a = xr.DataArray(nut["posterior"][name])
        b = xr.DataArray(ref["posterior"][name])
        diff = a.mean(("chain", "draw")) - b.mean(("chain", "draw"))
        se = np.sqrt(azs.mcse(a) ** 2 + azs.mcse(b) ** 2)
        z.append(np.abs(np.atleast_1d((diff / se).to_numpy())))
    z = np.concatenate(z)
    assert np.all(z < 4.5), z
