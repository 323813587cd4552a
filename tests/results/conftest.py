"""Runs shared by the HTML page tests (real sampler, real files): one run with every analysis,
two runs sharing a seed and one with another seed, and a small Hydra multirun."""

from __future__ import annotations

import pytest

from forecast.jobs.run import run
from tests.conftest import quick_config

JPN_MEAN = "scenario.actors.JPN.willingness.mean"
JPN_INTERVAL = "scenario.actors.JPN.willingness.interval"


@pytest.fixture(scope="session")
def briefing_run(tmp_path_factory):
    """A small Taiwan run with the sensitivity analysis and the threshold search on."""
    out = tmp_path_factory.mktemp("briefing") / "taiwan"
    cfg = quick_config(
        "analysis.sensitivity=true",
        "analysis.sensitivity_bootstrap=20",
        "analysis.tornado_replicates=2",
        "analysis.threshold.parameter=scenario.actors.USA.willingness",
        "analysis.threshold.target=0.6",
        "analysis.threshold.grid=5",
        "analysis.threshold.iterations=2",
        draws=24,
        realizations=500,
    )
    return out, run(cfg, out)


@pytest.fixture(scope="session")
def compared_runs(tmp_path_factory):
    """baseline and japan_refuses (same seed: paired draw by draw), and other_seed."""
    root = tmp_path_factory.mktemp("compare")
    runs = {
        "baseline": [],
        "japan_refuses": [
            f"{JPN_MEAN}=0.2",
            "scenario.actors.JPN.willingness.interval=[0.05,0.45]",
        ],
        "other_seed": ["sampler.seed=7"],
    }
    out = {}
    for name, overrides in runs.items():
        cfg = quick_config("analysis.report=false", *overrides, draws=30, realizations=500)
        out[name] = (root / name, run(cfg, root / name))
    return out


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory):
    """A multirun over Japan's willingness (2 jobs), collected into sweep.nc and sweep.html."""
    from tests.results.test_sweep import collect_cli, multirun

    d = tmp_path_factory.mktemp("sweep") / "multirun"
    res = multirun(
        d,
        f"{JPN_MEAN}=0.3,0.7",
        "sampler.draws=12",
        "sampler.realizations=300",
        "sampler.block_size=300",
        "analysis.report=false",
    )
    assert res.returncode == 0, res.stderr
    col = collect_cli(d)
    assert col.returncode == 0, col.stderr
    return d
