"""forecast-collect on incomplete and unusual sweeps: failed and missing jobs are listed, never
dropped; scenario sweeps join their partners; bad input exits 2 with nothing written."""

from __future__ import annotations

import importlib
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

from forecast import storage
from forecast.config import ConfigError
from forecast.results import collect
from tests.results.test_sweep import collect_cli, multirun

MEAN = "scenario.actors.USA.willingness.mean"
MEAN_DIM = "scenario_actors_USA_willingness_mean"  # its dim in sweep.nc
# every test runs `forecast -m` or forecast-collect as separate processes
pytestmark = pytest.mark.e2e

QUICK = ["sampler.draws=10", "sampler.realizations=200", "sampler.block_size=200"]


@pytest.fixture(scope="module")
def broken_sweep(tmp_path_factory):
    """USA willingness 0.5, 1.5, 0.7: job 1 has bad input and stops the multirun (exit 2), so
    job 2 never runs."""
    d = tmp_path_factory.mktemp("broken") / "multirun"
    res = multirun(d, f"{MEAN}=0.5,1.5,0.7", "analysis.report=false", *QUICK)
    assert res.returncode == 2, res.stderr
    return d


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    for f in ("sweep.nc", "sweep_p_deterrence.png"):
        (dst / f).unlink(missing_ok=True)
    return dst


def test_failed_and_missing_jobs_are_listed_and_their_cells_are_nan(broken_sweep, tmp_path):
    d = _copy(broken_sweep, tmp_path)
    res = collect_cli(d, "--no-plots")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "collected 1 of 3 jobs" in out
    assert (
        "failed: job #1 (scenario.actors.USA.willingness.mean=1.5): bad config: "
        "scenario.actors.USA.willingness.mean must be a probability in (0, 1), got 1.5"
    ) in out
    assert "missing: job #2 (scenario.actors.USA.willingness.mean=0.7): never ran" in out
    assert "2 of 3 jobs failed or are missing" in res.stderr
    s = storage.read(d / "sweep.nc")
    np.testing.assert_array_equal(s[MEAN_DIM].values, [0.5, 0.7, 1.5])
    assert list(s.job_status.values) == ["ok", "missing", "failed"]
    assert list(s.job_num.values) == [0, 2, 1]
    assert s.attrs["n_jobs_failed"] == 1 and s.attrs["n_jobs_missing"] == 1
    assert "job #1" in s.attrs["failed_jobs"] and "got 1.5" in s.attrs["failed_jobs"]
    assert "job #2" in s.attrs["missing_jobs"]
    p = s.p_deterrence.mean("draw")
    assert np.isfinite(p.sel({MEAN_DIM: 0.5})) and np.isnan(p.sel({MEAN_DIM: [0.7, 1.5]})).all()
    # --strict turns an incomplete sweep into a failure for scripts
    assert collect_cli(d, "--strict", "--no-plots").returncode == 1


def test_a_job_without_its_result_or_with_a_corrupt_one_is_failed(broken_sweep, tmp_path):
    d = _copy(broken_sweep, tmp_path)
    (d / "0" / "forecast.nc").write_bytes(b"not netCDF")
    with pytest.raises(ConfigError) as err:
        collect.collect(d)
    problems = "\n".join(err.value.problems)
    assert "no job in" in problems and "left a result" in problems
    assert (
        "job #0 (scenario.actors.USA.willingness.mean=0.5): forecast.nc is unreadable" in problems
    )
    assert not (d / "sweep.nc").exists()
    (d / "0" / "forecast.nc").unlink()
    with pytest.raises(ConfigError, match="the job did not finish"):
        collect.collect(d)


def test_without_multirun_yaml_the_swept_paths_come_from_the_jobs(broken_sweep, tmp_path):
    d = _copy(broken_sweep, tmp_path)
    (d / "multirun.yaml").unlink()
    c = collect.collect(d, plots=False)
    # the sweep's own list is gone, so the job that never ran cannot be known
    assert c.paths == [MEAN] and c.dims == [MEAN_DIM]
    assert [(j.num, j.status) for j in c.jobs] == [(0, "ok"), (1, "failed")]


def test_a_scenario_sweep_joins_the_partners_of_both(tmp_path):
    d = tmp_path / "multirun"
    res = multirun(d, "scenario=taiwan,baltic", "analysis.report=false", *QUICK)
    assert res.returncode == 0, res.stderr
    c = collect.collect(d)
    s = storage.read(c.path)
    assert list(s.scenario.values) == ["taiwan", "baltic"]
    names = dict(zip(s.actor.values, s.actor_name.values, strict=True))
    assert names["JPN"] == "Japan" and names["DEU"] == "Germany"
    joins = s.p_join.mean("draw")
    assert np.isnan(joins.sel(scenario="baltic", actor="JPN"))
    assert np.isfinite(joins.sel(scenario="taiwan", actor="JPN"))
    assert np.isfinite(joins.sel(scenario="baltic", actor="DEU"))
    assert {p.name for p in c.figures} == {
        "sweep_p_deterrence.png",
        "sweep_p_join.png",
        "sweep_p_defense_success.png",
        "sweep.html",
    }


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_bad_input_exits_2_with_nothing_written(tmp_path, kind):
    d = tmp_path / "sweep"
    if kind == "empty":
        d.mkdir()
    res = collect_cli(d)
    assert res.returncode == 2
    expected = "does not exist" if kind == "missing" else "no Hydra jobs in"
    assert res.stderr.startswith("error: ") and expected in res.stderr
    assert "Traceback" not in res.stderr
    assert not (d / "sweep.nc").exists()


def test_the_console_script_is_declared():
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    target = pyproject["project"]["scripts"]["forecast-collect"]
    module, func = target.split(":")
    assert callable(getattr(importlib.import_module(module), func))
