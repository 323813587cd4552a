"""The historical backtest: its cases, the leave-future-out baselines, the calibration fits
that exclude later wars, the command and its files, and the regression guard on its score."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from forecast.analysis import scoring
from forecast.jobs import backtest as bt
from forecast.results import backtest as report
from tests.conftest import REPO

GOLDEN = REPO / "benchmarks" / "backtest_score.json"


def test_the_library_has_at_least_twelve_cases_with_outcomes_on_record():
    names = bt.case_names()
    assert len(names) >= 12
    cases = [bt.load_case(n, bt.Settings()) for n in names]
    scored = [e for c in cases for e, y in c.outcomes.items() if not np.isnan(y)]
    kinds = {scoring.event_kind(e) for e in scored}
    assert kinds == set(scoring.KINDS)
    # deterrence held in some cases: the attack is not the same outcome everywhere
    assert {c.outcomes["attack"] for c in cases} == {0.0, 1.0}
    # conditional events are never scored where the attack did not happen
    for c in cases:
        if c.outcomes["attack"] == 0:
            assert all(np.isnan(y) for e, y in c.outcomes.items() if e != "attack")


def test_base_rates_use_only_earlier_cases():
    kinds = np.array(["attack", "join", "join"])
    dates = np.array(["1914-07-28", "1931-09-18", "1938-09-13", "1950-06-25"])
    y = np.array([[1, 1, 0], [1, 0, np.nan], [0, np.nan, np.nan], [1, 1, 1]], float)
    base = scoring.leave_future_out_base_rates(kinds, dates, y)
    np.testing.assert_allclose(base[0], [0.5, 0.5, 0.5])  # nothing earlier: Jeffreys' 1/2
    np.testing.assert_allclose(base[1, :2], [1.5 / 2, 1.5 / 3])  # 1 attack; joins 1 of 2
    assert np.isnan(base[1, 2]) and np.isnan(base[2, 1])
    np.testing.assert_allclose(base[3], [2.5 / 4, 1.5 / 4, 1.5 / 4])  # attacks 2 of 3, joins 1 of 3
    # a later outcome never changes an earlier forecast
    flipped = y.copy()
    flipped[3] = 1 - flipped[3]
    np.testing.assert_array_equal(
        scoring.leave_future_out_base_rates(kinds, dates, flipped)[:3], base[:3]
    )


def test_scores_are_scoringrules_brier_and_log_score():
    p, y = np.array([0.8, 0.3, 0.0, np.nan]), np.array([1.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(scoring.brier(p, y)[:3], [0.04, 0.49, scoring.CLIP**2])
    np.testing.assert_allclose(scoring.log_score(p, y)[:3], -np.log([0.8, 0.3, 1 - scoring.CLIP]))
    assert np.isnan(scoring.brier(p, y)[3])


def test_calibration_fits_exclude_wars_that_had_not_ended(data_dir):
    from forecast.calibration.cases import load_cases

    record, _ = load_cases(data_dir)
    ends = bt.war_end_years(data_dir)
    for name in bt.case_names():
        case = bt.load_case(name, bt.Settings())
        train = bt.training_cases(record, ends, case.year)
        assert (train["war"].map(ends) < case.year).all(), name
        later = record[record["y"].notna() & ~(record["war"].map(ends) < case.year)]
        assert set(train.index).isdisjoint(later.index)
    korea = bt.training_cases(record, ends, 1950)
    assert "cow151" not in set(korea["war"])  # the Korean War itself
    assert "cow139" in set(korea["war"])  # the Second World War had ended
    assert "cow156" not in set(bt.training_cases(record, ends, 1956)["war"])  # Hungary 1956
    assert "cow106" not in set(bt.training_cases(record, ends, 1914)["war"])  # the First World War


@pytest.mark.slow
def test_the_calibrated_baseline_predicts_joins_from_earlier_wars(data_dir):
    settings = bt.Settings(data_dir=str(data_dir), fit_draws=50, fit_tune=100)
    case = bt.load_case("backtest_poland_1939", settings)
    lines = []
    out = bt.calibrated_forecasts([case], settings, log=lines.append)
    assert set(out["backtest_poland_1939"]) == {"join:GBR", "join:FRA"}
    assert all(0 < p < 1 for p in out["backtest_poland_1939"].values())
    assert "ended before 1939" in lines[0]


@pytest.fixture(scope="module")
def default_backtest():
    return bt.run_backtest(bt.Settings(calibrated=False), log=lambda msg: None)


def test_regression_guard_the_overall_score_is_no_worse_than_recorded(default_backtest):
    """Fails if a change worsens the backtest's overall score by more than the recorded margin
    (about four times the seed-to-seed spread at these settings; see the JSON's reason)."""
    golden = json.loads(GOLDEN.read_text())
    assert golden["settings"]["draws"] == bt.Settings().draws
    now = report.overall_scores(default_backtest)
    assert now["n_events"] == golden["scores"]["n_events"]
    for score, margin in golden["margin"].items():
        assert now[score] <= golden["scores"][score] + margin, (score, now[score])


def test_the_dataset_has_case_and_event_dims_and_consistent_scores(default_backtest):
    ds = default_backtest
    assert ds.p_model.dims == ("case", "event")
    assert list(ds.crisis_date.values) == sorted(ds.crisis_date.values)
    scored = ~np.isnan(ds.outcome.values)
    for name in report.predictors(ds):
        assert not np.isnan(ds[f"p_{name}"].values[scored]).any()
        assert np.all(np.isnan(ds[f"log_score_{name}"].values[~scored]))
    table = report.scores_table(ds)
    assert table.loc["overall", "n"] == scored.sum()
    np.testing.assert_allclose(
        table.loc["overall", "brier_model"], np.nanmean(ds.brier_model.values[scored])
    )


def test_forecast_backtest_writes_its_files_and_prints_the_scores(tmp_path):
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "forecast.cli.backtest",
        f"out={out}",
        "draws=20",
        "realizations=500",
        "calibrated=false",
        "cases=backtest_poland_1939,backtest_kuwait_1961,backtest_korea_1950",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "overall" in run.stdout and "log base_rate" in run.stdout
    for name in ("backtest.nc", "backtest.csv", "scores.csv", "case_scores.csv"):
        assert (out / name).is_file()
    assert (out / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    with xr.open_dataset(out / "backtest.nc", engine="h5netcdf") as ds:
        assert set(ds.p_model.dims) == {"case", "event"}
        assert ds.sizes["case"] == 3


@pytest.mark.parametrize(
    "arg,message",
    [("draws=0", "positive integer"), ("cases=nope", "unknown cases"), ("colour=red", "unknown")],
)
def test_forecast_backtest_rejects_bad_arguments(tmp_path, arg, message):
    cmd = [sys.executable, "-m", "forecast.cli.backtest", f"out={tmp_path / 'x'}", arg]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 2 and message in run.stderr
    assert not (tmp_path / "x").exists()
