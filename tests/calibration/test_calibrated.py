"""Posterior -> sampler: beliefs.source=calibrated takes willingness from a real posterior."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from omegaconf import open_dict
from scipy import special

from forecast.calibration.fit import predict_willingness
from forecast.calibration.willingness import partner_covariates
from forecast.config import ConfigError
from forecast.jobs.run import simulate
from tests.conftest import bare_scenario, quick_config

# runs the console scripts / workers / notebooks as separate processes: out of the
# inner loop (-m 'not e2e'), always in CI
pytestmark = pytest.mark.e2e


# Baltic's judged-willingness shifts, which a calibrated P(honour) does not take (each would be
# an error naming its path; see tests/config/test_silent.py)
BALTIC_UNSHIFTED = [
    "~scenario.actors.GBR.follows.USA",
    "~scenario.actors.DEU.follows.USA",
    "scenario.actors.USA.engaged.willingness_shift=0",
    "scenario.actors.DEU.buck_passing=0",
    "scenario.actors.FRA.buck_passing=0",
    "scenario.institutions.NATO.mandate_shift=0",
    "scenario.institutions.NATO.no_mandate_shift=0",
]


def _calibrated(posterior, *overrides):
    return quick_config(
        "scenario=baltic",
        "beliefs.source=calibrated",
        f"calibration.posterior={posterior}",
        *BALTIC_UNSHIFTED,
        *overrides,
        draws=50,
        realizations=1000,
    )


def _one_partner(posterior, draws=40, **scenario):
    """Partner A alone: a formal defence commitment, calibrated, recognising every attack."""
    actor = {
        "commitment": "defense",
        "willingness": {"mean": 0.5},
        "capability": {"mean": 1.0, "sd": 0.0},
        "covariates": {"post1945": True, "milinst": 1, "formal": 2},
    }
    cfg = bare_scenario(quick_config, {"A": actor}, draws=draws, realizations=20000, **scenario)
    with open_dict(cfg):
        cfg.beliefs.source = "calibrated"
        cfg.calibration.posterior = str(posterior)
    return cfg


def _within_3_mcse(ds, expected):
    """The mean over draws of P(join | attack) against ``expected`` (draws,): within 3 MCSE (a
    correct sampler fails with probability 0.0027; the seed is fixed)."""
    got = float(ds.p_join.sel(actor="A").mean())
    mcse = float(ds.mcse_mean_p_join.sel(actor="A"))
    assert abs(got - float(np.mean(expected))) <= 3 * mcse, (got, float(np.mean(expected)), mcse)


def test_a_calibrated_partner_joins_with_its_posterior_predictive_p_honour(posterior):
    """Only a calibrated willingness, a formal commitment and a recognised attack: P(join |
    attack) is the posterior predictive P(honour) of the draws, nothing applied a second time."""
    ds = simulate(_one_partner(posterior))
    w = ds.willingness.sel(actor="A").values
    assert w.std() > 0.05  # the draws differ: the comparison is across a real posterior
    _within_3_mcse(ds, w)
    # per draw too, a Binomial of 20000 crises: within 4.5 of its MCSEs each (all 40: 1e-4)
    err = np.abs(ds.p_join.sel(actor="A").values - w)
    assert (err <= 4.5 * np.sqrt(w * (1 - w) / 20000)).all()


@pytest.mark.parametrize("rho", [0.0, 1.0])
def test_a_mandate_triggers_a_calibrated_members_commitment(posterior, rho):
    """A member of an institution deciding by unanimity with another state X (P(yes) 0.8):
    P(join | attack) = P(mandate and honour). With votes independent of resolve (rho 0) that is
    0.8 w * w; with the vote its own resolve (rho 1), 0.8 w: it votes yes exactly when it would
    honour. The mandate shifts are not added (they are errors, see test_silent)."""
    inst = {"I": {"members": ["A", "X"], "rule": "unanimity", "vote": {"X": 0.8},
                  "vote_correlation": rho}}  # fmt: skip
    ds = simulate(_one_partner(posterior, institutions=inst))
    w = ds.willingness.sel(actor="A").values
    expected = 0.8 * w * w if rho == 0 else 0.8 * w
    _within_3_mcse(ds, expected)
    mandate = ds.p_mandate.sel(institution="I").values
    assert abs(float(mandate.mean()) - 0.8 * float(w.mean())) < 0.01


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
    # Taiwan's judged-willingness shifts, which a calibrated P(honour) does not take
    calibrated = [
        "beliefs.source=calibrated",
        "scenario.actors.USA.engaged.willingness_shift=0",
        "scenario.actors.AUS.buck_passing=0",
    ]
    with pytest.raises(ConfigError, match="calibration.posterior must name a posterior.nc"):
        simulate(quick_config(*calibrated))
    missing = tmp_path / "nope.nc"
    with pytest.raises(ConfigError, match=f"calibration.posterior: no such file, got {missing}"):
        simulate(quick_config(*calibrated, f"calibration.posterior={missing}"))


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
    codes = ["DEU", "FIN", "FRA", "GBR", "POL", "SWE", "USA"]
    assert [line.split()[0] for line in lines[1:]] == codes
