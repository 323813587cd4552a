"""Reports: every run writes report.png and summary.csv; sensitivity adds tornado.png, the
threshold search threshold.png. Real runs of the sampler, real files, reopened."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib import image

from forecast import storage
from forecast.jobs.run import run, simulate
from forecast.results import dataset as results
from forecast.results import report


@pytest.fixture(scope="module")
def full_run(briefing_run):
    """One small Taiwan run with every analysis on (shared with the HTML tests)."""
    return briefing_run


def _png(path):
    img = image.imread(path)
    assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 500, img.shape
    # not a blank canvas: a fair share of drawn (non-white) pixels, in several colours
    rgb = img[..., :3]
    assert (rgb.min(axis=2) < 0.9).mean() > 0.02
    assert len(np.unique(rgb[::7, ::7].reshape(-1, 3).round(1), axis=0)) > 10
    return img


def test_a_run_writes_every_report(full_run):
    out, ds = full_run
    for name in ("forecast.nc", "report.png", "summary.csv", "tornado.png", "threshold.png"):
        assert (out / name).is_file(), name
    for name in ("report.png", "tornado.png", "threshold.png"):
        _png(out / name)
    # no temporary files left behind
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    saved = storage.read(out / "forecast.nc")
    for v in ("tornado_low", "tornado_high", "sensitivity_first_order", "threshold"):
        assert v in saved, v
    assert saved.attrs["threshold_summary"] == ds.attrs["threshold_summary"]


def test_summary_csv_is_the_summary_table_with_names_and_the_threshold(full_run):
    out, ds = full_run
    df = pd.read_csv(out / "summary.csv", keep_default_na=False)
    table = results.summary_table(ds)
    rows = df[~df["quantity"].str.startswith("threshold")]
    assert list(rows["quantity"]) == list(table["quantity"])
    np.testing.assert_allclose(rows["mean"].astype(float), table["mean"])
    usa = rows[(rows["quantity"] == "p_join") & (rows["actor"] == "USA")]
    assert list(usa["actor_name"]) == ["United States"]
    thr = df[df["quantity"] == "threshold willingness[USA]"]
    assert len(thr) == 1
    assert float(thr["mean"].iloc[0]) == pytest.approx(float(ds.threshold), nan_ok=True)
    assert "willingness[USA]" in thr["description"].iloc[0]


def test_report_panels_follow_the_variables_present(quick):
    ds = simulate(quick(draws=30, realizations=500))
    titles = [ax.get_title() for ax in report.plot_report(ds).axes]
    assert len(titles) == 4 and "Pivotality" in titles[2] and "deterrence" in titles[3]
    # partners' answers by attack type when the model has several types
    assert "by attack type" in titles[0]
    legend = [t.get_text() for t in report.plot_report(ds).axes[0].get_legend().get_texts()]
    assert legend == list(ds.attack_type.values)
    # a forecast without pivotality (an older model) draws the other panels only
    older = ds.drop_vars(["pivotality", "pivotality_deterrence"])
    assert len(report.plot_report(older).axes) == 2
    assert len(report.plot_report(ds.drop_vars("pivotality_deterrence")).axes) == 3
    labels = [t.get_text() for t in report.plot_report(ds).axes[0].get_yticklabels()]
    assert labels == list(ds.actor_name.values)


def test_extra_dims_become_labelled_series_or_are_averaged():
    da = xr_array({"draw": 5, "actor": 2, "attack_type": 3})
    parts = report.series(da, ("draw", "actor"))
    assert [label for label, _ in parts] == ["a0", "a1", "a2"]
    assert all(sub.dims == ("draw", "actor") for _, sub in parts)
    many = xr_array({"draw": 5, "actor": 4, "sampler.seed": 3})
    parts = report.series(many, ("draw",), names={"c0": "Country zero"})
    # the actor is never averaged; 12 series would be too many, so the seeds are averaged
    assert [label for label, _ in parts][0] == "Country zero, mean over sampler.seed"
    np.testing.assert_allclose(parts[0][1].values, many.isel(actor=0).mean("sampler.seed").values)


def xr_array(sizes):
    import xarray as xr

    coords = {
        d: [f"{'c' if d == 'actor' else 'a'}{i}" for i in range(n)]
        for d, n in sizes.items()
        if d != "draw"
    }
    rng = np.random.default_rng(0)
    return xr.DataArray(rng.random(tuple(sizes.values())), dims=tuple(sizes), coords=coords)


def test_labels_use_state_names_roles_and_units(full_run):
    _, ds = full_run
    lab = {
        str(n): report.parameter_label(str(n), str(p), ds)
        for n, p in zip(ds.parameter.values, ds.parameter_path.values, strict=True)
    }
    assert lab["willingness[USA]"] == "United States willingness"
    assert lab["capability[CHN]"] == "China (PRC) capability (aggressor)"
    assert lab["capability[TWN]"] == "Taiwan capability (target)"
    assert lab["delay[JPN]"] == "Japan response delay (days)"
    # the war as a process: each kind of help is its own willingness, arms also an amount
    assert lab["access[JPN]"] == "Japan willingness to grant access"
    assert lab["arms[USA]"] == "United States willingness to give arms"
    assert lab["arms_amount[USA]"] == "United States arms given (capability)"
    assert lab["resolve[TWN]"] == "Taiwan resolve to fight on (target)"
    assert lab["escalation"] == "escalation probability per phase"
    assert lab["capability[CHN/quarantine]"] == "China (PRC), quarantine capability"
    assert report.path_label("scenario.actors.JPN.willingness.mean", ds).startswith(
        "Japan willingness.mean"
    )


def test_report_can_be_switched_off(quick, tmp_path):
    run(quick("analysis.report=false", draws=4, realizations=200), tmp_path)
    # the table of draws is data, not a report: it is written all the same
    assert sorted(p.name for p in tmp_path.iterdir()) == ["draws.parquet", "forecast.nc"]


@pytest.mark.e2e
def test_cli_bad_analysis_option_exits_2_with_nothing_written(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "forecast.cli.run",
        f"hydra.run.dir={tmp_path}",
        "analysis.threshold.parameter=scenario.actors.XYZ.willingness",
        "sampler.draws=4",
        "sampler.realizations=100",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "analysis.threshold.parameter must name a belief parameter" in res.stderr
    assert "got 'scenario.actors.XYZ.willingness'" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert not [p for p in tmp_path.iterdir() if p.suffix in (".nc", ".png", ".csv")]
