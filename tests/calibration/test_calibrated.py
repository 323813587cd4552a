"""Posterior -> sampler: beliefs.source=calibrated takes willingness from a real posterior."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import special

from forecast.calibration.fit import predict_willingness
from forecast.calibration.willingness import partner_covariates
from forecast.config import ConfigError
from forecast.jobs.run import simulate
from tests.conftest import quick_config

# runs the console scripts / workers / notebooks as separate processes: out of the
# inner loop (-m 'not e2e'), always in CI
pytestmark = pytest.mark.e2e


def _calibrated(posterior, *overrides):
    return quick_config(
        "scenario=baltic",
        "beliefs.source=calibrated",
        f"calibration.posterior={posterior}",
        *overrides,
        draws=50,
        realizations=1000,
    )


def test_calibrated_willingness_is_the_posterior_predictive(posterior):
    cfg = _calibrated(posterior)
    ds = simulate(cfg)
    codes = list(ds.actor.values)
    expected = predict_willingness(
        posterior, partner_covariates(cfg, tuple(codes)), 50, cfg.sampler.seed
    )
    np.testing.assert_allclose(ds.willingness.values, expected, rtol=1e-9)
    # epistemic spread, not a point value; all inside (0, 1)
    assert float(ds.willingness.std("draw").min()) > 0
    assert float(ds.willingness.min()) > 0 and float(ds.willingness.max()) < 1
    # the sampler uses it: join frequencies follow the calibrated willingness
    assert np.corrcoef(ds.willingness.values.ravel(), ds.p_join.values.ravel())[0, 1] > 0.5


def test_scenario_judgement_shifts_the_calibrated_draws_explicitly(posterior):
    base = simulate(_calibrated(posterior))
    shifted = simulate(_calibrated(posterior, "scenario.actors.USA.willingness.calibrated_shift=1"))
    usa = shifted.willingness.sel(actor="USA").values
    np.testing.assert_allclose(
        special.logit(usa), special.logit(base.willingness.sel(actor="USA").values) + 1.0
    )
    np.testing.assert_array_equal(
        shifted.willingness.sel(actor="GBR"), base.willingness.sel(actor="GBR")
    )


def test_calibrated_source_needs_a_posterior(tmp_path):
    with pytest.raises(ConfigError, match="calibration.posterior must name a posterior.nc"):
        simulate(quick_config("beliefs.source=calibrated"))
    missing = tmp_path / "nope.nc"
    with pytest.raises(ConfigError, match=f"calibration.posterior: no such file, got {missing}"):
        simulate(quick_config("beliefs.source=calibrated", f"calibration.posterior={missing}"))


def test_calibrated_table_command_prints_every_partner(posterior):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "forecast.calibration.willingness",
            str(posterior),
            "scenario=baltic",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["partner", "commitment", "mean"]
    # partners in state-code order: the config's order means nothing
    assert [line.split()[0] for line in lines[1:]] == ["DEU", "FRA", "GBR", "POL", "USA"]
