"""forecast-calibrate end to end: CLI -> files -> reopen; bad input exits 2 with no output."""

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

# runs the console scripts / workers / notebooks as separate processes: out of the
# inner loop (-m 'not e2e'), always in CI
pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parents[1]
REPO = HERE.parent
DATA = Path(os.environ.get("FORECAST_DATA_DIR", REPO.parent / "shared" / "data"))
OUTPUTS = ("posterior.nc", "predictions.csv", "predictions.json", "calibration.json")


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "forecast.cli.calibrate", *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def predict_file(tmp_path_factory) -> Path:
    """Berkemeier-Fuhrmann rows: performance opportunities and non-cases, shuffled."""
    bf = pd.read_csv(DATA / "BerkemeierFuhrmannRAP2018_0303.csv")
    rows = pd.concat([bf[bf["dnaLLM"].isna()].head(8), bf[bf["dnaLLM"] == 1].head(4)])
    path = tmp_path_factory.mktemp("predict") / "bf_rows.csv"
    rows.sample(frac=1.0, random_state=1).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, predict_file) -> Path:
    out = tmp_path_factory.mktemp("calibrate")
    res = run_cli(
        f"data_dir={DATA}",
        "calibration=quick",
        "calibration.sampling.draws=100",
        "calibration.sampling.tune=200",
        "validation.enabled=false",
        f"predict={predict_file}",
        f"hydra.run.dir={out}",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "cases: 232 in 39 wars" in res.stdout
    return out


def test_fit_writes_a_reopenable_posterior_with_provenance(run_dir):
    with xr.open_datatree(run_dir / "posterior.nc", engine="h5netcdf") as tree:
        assert tree["posterior"]["alpha"].dims == ("chain", "draw")
        assert tree["posterior"].sizes["draw"] == 100
        attrs = dict(tree.attrs)
    for key in ("created_at", "package_versions", "git_revision", "config_yaml", "data_report"):
        assert attrs[key], key
    assert "pymc" in attrs["package_versions"]
    assert "calibration:" in attrs["config_yaml"] and "draws: 100" in attrs["config_yaml"]


def test_posterior_file_has_a_posterior_predictive_group(run_dir):
    with xr.open_datatree(run_dir / "posterior.nc", engine="h5netcdf") as tree:
        assert "posterior_predictive" in tree.children
        y_rep = tree["posterior_predictive"]["y"]
        assert y_rep.dims == ("chain", "draw", "case") and y_rep.sizes["case"] == 232
        assert set(np.unique(y_rep.to_numpy())) <= {0, 1}


def test_predictions_csv_is_plain_and_provenance_is_a_sidecar(run_dir):
    text = (run_dir / "predictions.csv").read_text()
    assert not any(line.startswith("#") for line in text.splitlines())
    sidecar = json.loads((run_dir / "predictions.json").read_text())
    assert sidecar["file"] == "predictions.csv" and sidecar["coding"] == "own"
    for key in ("created_at", "git_revision", "package_versions", "config_yaml"):
        assert sidecar["provenance"][key], key
    pred = pd.read_csv(run_dir / "predictions.csv")
    assert set(pred["p_honor_coding"]) == {"Berkemeier-Fuhrmann"}


def test_predictions_follow_the_input_rows(run_dir, predict_file):
    given = pd.read_csv(predict_file)
    pred = pd.read_csv(run_dir / "predictions.csv")
    assert len(pred) == len(given)
    np.testing.assert_array_equal(pred["atopid"], given["atopid"])
    np.testing.assert_array_equal(pred["warid"], given["warid"])
    not_case = given["dnaLLM"].eq(1).to_numpy()
    assert pred.loc[not_case, ["p_honor", "p_honor_q05", "p_honor_q95"]].isna().all().all()
    ok = pred[~not_case]
    assert ok[["p_honor", "p_honor_q05", "p_honor_q95"]].notna().all().all()
    assert (ok["p_honor_q05"] <= ok["p_honor"]).all() and (ok["p_honor"] <= ok["p_honor_q95"]).all()
    assert ((ok["p_honor"] > 0) & (ok["p_honor"] < 1)).all()


def test_predict_every_leeds_anac_row_in_its_coding_or_the_midpoint(run_dir, tmp_path):
    """Wars absent from the COW v4 table still get a prediction; the unknown-era row is named
    in a warning; the midpoint coding is asked for explicitly and differs."""
    la = pd.read_csv(DATA / "LeedsAnacIIrep.csv").head(4)
    la["war"] = [157.0, 22.0, 999.0, 154.0]
    path = tmp_path / "la.csv"
    la.to_csv(path, index=False)
    runs = {}
    for coding in ("own", "midpoint"):
        out = tmp_path / coding
        res = run_cli(
            f"data_dir={DATA}",
            f"posterior={run_dir / 'posterior.nc'}",
            "validation.enabled=false",
            f"predict={path}",
            f"coding={coding}",
            f"hydra.run.dir={out}",
        )
        assert res.returncode == 0, res.stderr[-3000:]
        assert "warning: line 4: war = 999 (COW v3)" in res.stdout
        runs[coding] = pd.read_csv(out / "predictions.csv")
        assert runs[coding]["p_honor"].between(0, 1).all() and len(runs[coding]) == 4
    assert set(runs["own"]["p_honor_coding"]) == {"Leeds-Anac"}
    assert set(runs["midpoint"]["p_honor_coding"]) == {"midpoint"}
    assert not np.allclose(runs["own"]["p_honor"], runs["midpoint"]["p_honor"])


def _assert_failed_cleanly(res, out: Path, *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr
    for needle in needles:
        assert needle in res.stderr, (needle, res.stderr[-2000:])
    for name in OUTPUTS:
        assert not (out / name).exists(), name
    assert not list(out.glob(".*.tmp*"))


def test_missing_data_directory(tmp_path):
    out = tmp_path / "run"
    res = run_cli(f"data_dir={tmp_path / 'missing'}", f"hydra.run.dir={out}")
    _assert_failed_cleanly(res, out, "data directory", "missing", "LeedsAnacIIrep.csv")


def test_bad_predict_file(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.read_csv(DATA / "LeedsAnacIIrep.csv").head(3).assign(milinst=[0, 7, 1]).to_csv(
        bad, index=False
    )
    out = tmp_path / "run"
    res = run_cli(f"data_dir={DATA}", f"predict={bad}", f"hydra.run.dir={out}")
    _assert_failed_cleanly(res, out, str(bad), "line 3: milinst = '7'")


def test_bad_config_values_are_listed_with_their_paths(tmp_path):
    out = tmp_path / "run"
    res = run_cli(
        f"data_dir={DATA}",
        "calibration.sampling.draws=0",
        "calibration.priors.war_sd.sigma=-2",
        f"hydra.run.dir={out}",
    )
    _assert_failed_cleanly(
        res,
        out,
        "2 errors in the configuration",
        "calibration.sampling.draws = 0",
        "calibration.priors.war_sd.sigma = -2.0",
    )


@pytest.mark.parametrize(
    ("override", "needle"),
    [("calibration.sampling.draws=many", "draws"), ("calibration.sampling.speed=3", "speed")],
)
def test_hydra_rejects_wrong_types_and_unknown_keys(tmp_path, override, needle):
    out = tmp_path / "run"
    res = run_cli(f"data_dir={DATA}", override, f"hydra.run.dir={out}")
    _assert_failed_cleanly(res, out, needle)


def test_reuse_a_posterior_to_predict_without_refitting(run_dir, predict_file, tmp_path):
    out = tmp_path / "run"
    res = run_cli(
        f"data_dir={DATA}",
        f"posterior={run_dir / 'posterior.nc'}",
        "validation.enabled=false",
        f"predict={predict_file}",
        f"hydra.run.dir={out}",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert not (out / "posterior.nc").exists()
    again = pd.read_csv(out / "predictions.csv")
    first = pd.read_csv(run_dir / "predictions.csv")
    pd.testing.assert_frame_equal(again, first)


def test_reused_posterior_must_be_a_posterior(tmp_path):
    not_nc = tmp_path / "posterior.nc"
    not_nc.write_text("not a netcdf file")
    out = tmp_path / "run"
    res = run_cli(f"data_dir={DATA}", f"posterior={not_nc}", f"hydra.run.dir={out}")
    _assert_failed_cleanly(res, out, f"posterior = '{not_nc}'")
