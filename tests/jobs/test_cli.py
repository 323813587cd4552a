"""The CLI end to end: config -> file -> reopen; bad input exits 2 with nothing written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from forecast import storage

# runs the console scripts / workers / notebooks as separate processes: out of the
# inner loop (-m 'not e2e'), always in CI
pytestmark = pytest.mark.e2e

QUICK = ["sampler.draws=20", "sampler.realizations=1000", "sampler.block_size=500"]


def _forecast(tmp_path: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "forecast.cli.run", f"hydra.run.dir={tmp_path}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


@pytest.mark.parametrize("scenario", ["taiwan", "baltic"])
def test_cli_writes_a_forecast_that_reopens(tmp_path, scenario):
    res = _forecast(tmp_path, f"scenario={scenario}", *QUICK)
    assert res.returncode == 0, res.stderr
    assert "p_attack" in res.stdout and "90% interval" in res.stdout
    ds = storage.read(tmp_path / "forecast.nc")
    assert dict(ds.sizes)["draw"] == 20
    assert set(ds.p_join.dims) == {"draw", "actor"}
    assert "USA" in list(ds.actor.values)
    for var in ("p_attack", "p_join", "p_defense_success", "p_deterrence", "mcse_p_join"):
        assert var in ds
    assert ds.attrs["seed"] == 20261122
    cfg = yaml.safe_load(ds.attrs["config"])
    assert cfg["scenario"]["name"] == scenario
    assert cfg["sampler"]["draws"] == 20
    for key in ("git_revision", "created", "package_versions", "version_numba", "random_numbers"):
        assert ds.attrs[key]
    # nothing but the result and Hydra's own records
    assert not list(tmp_path.glob(".forecast.nc*"))


@pytest.mark.parametrize(
    "override,expected",
    [
        (
            "scenario.actors.USA.willingness.mean=1.7",
            "scenario.actors.USA.willingness.mean must be a probability in (0, 1), got 1.7",
        ),
        ("scenario.actors.USA.willingnes.mean=0.5", "willingnes"),
        ("sampler.draws=lots", "sampler.draws"),
        # Hydra merges mappings: an empty one would silently change nothing
        ("scenario.actors.USA.access={}", "remove its entries one by one with ~"),
        ("scenario.aggressor.cost=0.5", "write scenario.aggressor.cost.mean=VALUE"),
    ],
)
def test_cli_bad_input_exits_2_without_output(tmp_path, override, expected):
    res = _forecast(tmp_path, override, *QUICK)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert expected in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert not (tmp_path / "forecast.nc").exists()


def test_ctrl_c_leaves_no_partial_file(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "forecast.cli.run",
        f"hydra.run.dir={tmp_path}",
        "sampler.draws=100000",
        "sampler.realizations=20000",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(6.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err
    assert "Traceback" not in err
    assert not (tmp_path / "forecast.nc").exists()
    assert not list(tmp_path.glob(".forecast.nc*"))


def test_a_plain_run_checks_the_scenario_once(monkeypatch, tmp_path):
    """The rules table runs once per run: analysis.check covers the scenario, simulate trusts it."""
    from forecast.jobs.run import run
    from forecast.model import beliefs
    from tests.conftest import quick_config

    calls = []
    real = beliefs.validate

    def counting(cfg):
        calls.append(1)
        return real(cfg)

    monkeypatch.setattr(beliefs, "validate", counting)
    run(quick_config("analysis.report=false", draws=4, realizations=200), tmp_path)
    assert len(calls) == 1
