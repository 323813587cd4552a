"""Initiation posterior -> sampler: beliefs.aggressor_source=calibrated takes each draw's crisis
rate from the real (quick) initiation posterior of the session and the real data files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from forecast.calibration import crisis_rate
from forecast.calibration import initiation as ini
from forecast.calibration.dyads import load_dyad_tables
from forecast.config import ConfigError
from forecast.jobs.run import run, simulate
from tests.conftest import REPO, quick_config

#: the variables that the crisis rate moves; every other per-draw result must not change
RATE_VARIABLES = {
    "opportunities_per_year",
    "p_attack_within_horizon",
    "mcse_p_attack_within_horizon",
    "mcse_mean_p_attack_within_horizon",
    *crisis_rate.OUTPUTS,
    "initiation_posterior_draw",
}


@pytest.fixture(scope="module")
def initiation_posterior(data_dir, tmp_path_factory):
    """One small real initiation fit (the job's code, NUTS on the real files), without the joint
    model, which these tests do not read: 0.5% of the non-events, 2 chains x (100 + 150)."""
    from forecast.config.loading import load_config
    from forecast.jobs.deterrence import run_deterrence

    out = tmp_path_factory.mktemp("crisis_rate_posterior")
    cfg = load_config(
        [
            f"data_dir={data_dir}",
            "calibration=deterrence_quick",
            "validation.enabled=false",
            "calibration.deterrence.joint.enabled=false",
            "calibration.deterrence.control_fraction=0.005",
            "calibration.deterrence.sampling.draws=100",
            "calibration.deterrence.sampling.tune=150",
            "calibration.deterrence.sampling.progress=false",
        ],
        config_name="calibrate",
    )
    run_deterrence(cfg, out)
    return out / "posterior.nc"


def _calibrated(posterior, data_dir, scenario="baltic", *overrides, draws=30):
    return quick_config(
        f"scenario={scenario}",
        "beliefs.aggressor_source=calibrated",
        f"calibration.deterrence_posterior={posterior}",
        f"calibration.data_dir={data_dir}",
        "scenario.horizon.opportunities_per_year.sd=0",
        *overrides,
        draws=draws,
        realizations=1000,
    )


def _expected_propensity(posterior, data_dir, ccode1, ccode2, year, pacts):
    frame = ini.dyad_frame(load_dyad_tables(data_dir), ccode1, ccode2, year)
    if pacts == "none":
        frame[list(crisis_rate.PACTS)] = 0.0
    return ini.annual_propensity(posterior, frame)


@pytest.mark.parametrize("pacts", ["none", "observed"])
def test_rate_is_minus_log_one_minus_the_draws_propensity(initiation_posterior, data_dir, pacts):
    cfg = _calibrated(
        initiation_posterior, data_dir, "baltic", f"calibration.deterrence_pacts={pacts}"
    )
    ds = simulate(cfg)
    pick = ds["initiation_posterior_draw"].to_numpy().astype(int)
    p = _expected_propensity(initiation_posterior, data_dir, 365, 366, 2026, pacts)
    expected = p.sel(case="as observed").to_numpy()[pick]
    np.testing.assert_allclose(ds["p_initiation"], expected, rtol=1e-12)
    np.testing.assert_allclose(ds["opportunities_per_year"], -np.log(1.0 - expected), rtol=1e-12)
    np.testing.assert_array_equal(ds["initiation_rate"], ds["opportunities_per_year"])
    twice = p.sel(case="challenger twice as strong").to_numpy()[pick]
    np.testing.assert_allclose(ds["initiation_capability_ratio"], twice / expected, rtol=1e-12)
    # each draw takes its own posterior draw: an epistemic spread, not a point value
    assert len(np.unique(pick)) > 1 and float(ds["p_initiation"].std()) > 0
    # provenance: the file, its hash and the dyad-year
    assert ds.attrs["deterrence_posterior"] == str(initiation_posterior)
    assert ds.attrs["deterrence_posterior_sha256"] == crisis_rate.file_sha256(initiation_posterior)
    assert ds.attrs["deterrence_ccode1"] == 365 and ds.attrs["deterrence_ccode2"] == 366
    assert ds.attrs["deterrence_year"] == 2026 and ds.attrs["deterrence_pacts"] == pacts


def test_pacts_none_removes_only_the_targets_defence_pacts(initiation_posterior, data_dir):
    none = simulate(_calibrated(initiation_posterior, data_dir))
    observed = simulate(
        _calibrated(
            initiation_posterior, data_dir, "baltic", "calibration.deterrence_pacts=observed"
        )
    )
    np.testing.assert_array_equal(
        none["initiation_posterior_draw"], observed["initiation_posterior_draw"]
    )
    # Estonia has defence pacts in ATOP: observed = none * (observed / none), draw by draw
    assert max(json.loads(none.attrs["deterrence_target_pacts_observed"]).values()) == 1.0
    np.testing.assert_allclose(
        observed["p_initiation"],
        none["p_initiation"] * none["initiation_observed_pact_ratio"],
        rtol=1e-10,
    )


def test_the_sampler_counts_are_unchanged_only_the_horizon_moves(initiation_posterior, data_dir):
    cfg = _calibrated(initiation_posterior, data_dir, "taiwan")
    calibrated = simulate(cfg)
    judged = simulate(quick_config("scenario=taiwan", draws=30, realizations=1000))
    for name in judged.data_vars:
        if name not in RATE_VARIABLES:
            np.testing.assert_array_equal(calibrated[name], judged[name], err_msg=name)
    assert not np.array_equal(
        calibrated["opportunities_per_year"], judged["opportunities_per_year"]
    )
    years = float(cfg.scenario.horizon.years)
    rate, p_attack = calibrated["opportunities_per_year"], calibrated["p_attack"]
    np.testing.assert_allclose(
        calibrated["p_attack_within_horizon"], 1.0 - np.exp(-rate * years * p_attack), rtol=1e-12
    )
    # disputes bound attacks: P(attack within the horizon) <= P(initiation within the horizon)
    bound = 1.0 - (1.0 - calibrated["p_initiation"]) ** years
    assert bool((calibrated["p_attack_within_horizon"] <= bound + 1e-15).all())


def test_draws_are_reproducible_and_independent_of_threads(initiation_posterior, data_dir):
    one = simulate(_calibrated(initiation_posterior, data_dir, "baltic", "sampler.threads=1"))
    two = simulate(_calibrated(initiation_posterior, data_dir, "baltic", "sampler.threads=2"))
    other = simulate(_calibrated(initiation_posterior, data_dir, "baltic", "sampler.seed=5"))
    for name in ("initiation_posterior_draw", "opportunities_per_year", "p_attack_within_horizon"):
        np.testing.assert_array_equal(one[name], two[name])
    assert not np.array_equal(one["initiation_posterior_draw"], other["initiation_posterior_draw"])


def _problem(cfg) -> str:
    with pytest.raises(ConfigError) as info:
        simulate(cfg)
    assert len(info.value.problems) == 1, info.value.problems
    return info.value.problems[0]


def test_bad_inputs_name_their_path_and_value(initiation_posterior, data_dir, tmp_path):
    missing = tmp_path / "missing.nc"
    text = _problem(_calibrated(missing, data_dir))
    assert text == f"calibration.deterrence_posterior: no such file, got {missing}"
    garbage = tmp_path / "garbage.nc"
    garbage.write_text("not a netCDF file\n")
    text = _problem(_calibrated(garbage, data_dir))
    assert text.startswith(f"calibration.deterrence_posterior = {garbage}: not a readable")
    # Taiwan entered the COW state system in 1949
    text = _problem(_calibrated(initiation_posterior, data_dir, "taiwan", "scenario.year=1930"))
    assert text.startswith("scenario.year = 1930: 710 -> 713")
    assert "not a pair of COW state-system members in 1930" in text
    text = _problem(
        _calibrated(initiation_posterior, data_dir, "baltic", "scenario.target.code=XYZ")
    )
    assert text.startswith("scenario.target.code = XYZ: no COW state code is known for it")
    text = _problem(_calibrated(initiation_posterior, tmp_path / "no_data"))
    assert text.startswith(f"calibration.data_dir = {tmp_path / 'no_data'}")
    # a run writes nothing when the posterior is bad
    out = tmp_path / "run"
    out.mkdir()
    with pytest.raises(ConfigError):
        run(_calibrated(missing, data_dir), out)
    assert list(out.iterdir()) == []


@pytest.mark.e2e
def test_cli_exits_2_naming_the_missing_posterior(data_dir, tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "forecast.cli.run",
        "scenario=taiwan",
        "sampler=quick",
        "beliefs.aggressor_source=calibrated",
        f"calibration.deterrence_posterior={tmp_path / 'missing.nc'}",
        f"calibration.data_dir={data_dir}",
        "scenario.horizon.opportunities_per_year.sd=0",
        f"hydra.run.dir={out}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 2, done.stderr
    assert "calibration.deterrence_posterior: no such file" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (out / "forecast.nc").exists()
