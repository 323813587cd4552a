"""forecast.nc and sweep.nc follow the CF conventions: long_name and units on every variable,
the global attributes, CF names; checked directly and by IOOS's compliance checker."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from forecast import storage
from forecast.jobs.run import run
from forecast.results import collect
from tests.conftest import quick_config

CF_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MEAN = "scenario.actors.USA.willingness.mean"
SMALL = dict(draws=20, realizations=1000)


@pytest.fixture(scope="module")
def forecast_file(tmp_path_factory) -> Path:
    """A Taiwan forecast with every analysis: sensitivity and a threshold search on a delay."""
    out = tmp_path_factory.mktemp("forecast")
    cfg = quick_config(
        "analysis.report=false",
        "analysis.sensitivity=true",
        "analysis.tornado_replicates=2",
        "analysis.sensitivity_bootstrap=10",
        "analysis.threshold.parameter=scenario.actors.USA.delay",
        "analysis.threshold.target=0.6",
        "analysis.threshold.grid=3",
        "analysis.threshold.iterations=2",
        **SMALL,
    )
    run(cfg, out)
    return out / "forecast.nc"


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    """Two sweep points laid out as Hydra's multirun does, merged by collect."""
    d = tmp_path_factory.mktemp("sweep")
    for num, mean in enumerate((0.5, 0.7)):
        job = d / str(num)
        (job / ".hydra").mkdir(parents=True)
        overrides = [f"{MEAN}={mean}", "analysis.report=false"]
        (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
        run(quick_config(*overrides, **SMALL), job)
    return collect.collect(d, plots=False).path


def check_cf_attributes(path: Path) -> list[str]:
    """Every problem of the attributes and names that the conventions ask for."""
    ds = storage.read(path)
    problems = [
        f"global {k} missing" for k in ("title", "history", "source") if not ds.attrs.get(k)
    ]
    if ds.attrs.get("Conventions") != "CF-1.11":
        problems.append(f"Conventions is {ds.attrs.get('Conventions')!r}")
    problems += [f"name {n!r}" for n in [*ds.dims, *ds.variables] if not CF_NAME.match(str(n))]
    for name, da in ds.variables.items():
        if not da.attrs.get("long_name"):
            problems.append(f"{name}: no long_name")
        if da.dtype.kind in "biuf" and not da.attrs.get("units"):
            problems.append(f"{name}: no units")
        base = re.sub(r"^mcse_(mean_)?", "", str(name))
        want = "days" if base in ("delay", "fait_accompli") else "1" if base[:2] == "p_" else None
        if want and da.attrs.get("units") != want:
            problems.append(f"{name}: units {da.attrs.get('units')!r}, expected {want!r}")
    return problems


def compliance_report(path: Path, tmp_path: Path) -> tuple[bool, list[str]]:
    """Run IOOS's CF 1.11 checker (strict); whether it passed, and every failed check."""
    from compliance_checker.runner import CheckSuite, ComplianceChecker

    CheckSuite().load_all_available_checkers()
    out = tmp_path / "cf.json"
    passed, _ = ComplianceChecker.run_checker(
        str(path), ["cf:1.11"], 0, "strict", output_filename=str(out), output_format="json"
    )
    report = json.loads(out.read_text())["cf:1.11"]
    failed = [
        f"{c['name']}: {c['msgs']}"
        for level in ("high_priorities", "medium_priorities", "low_priorities")
        for c in report[level]
        if c["value"][0] < c["value"][1]
    ]
    return passed, failed


def test_forecast_nc_has_cf_attributes(forecast_file):
    assert check_cf_attributes(forecast_file) == []
    ds = storage.read(forecast_file)
    # the threshold searched a delay, so it and its per-draw values are in days
    assert ds.threshold.attrs["units"] == "days" and ds.threshold_draw.attrs["units"] == "days"
    assert ds.p_join.attrs["long_name"] == "P(the partner joins | attack)"
    assert ds.actor.attrs["long_name"] and "units" not in ds.actor.attrs  # text: no units
    assert "Taiwan" in ds.attrs["title"] or "TWN" in ds.attrs["title"]


def test_sweep_nc_has_cf_attributes_and_names(sweep_file):
    assert check_cf_attributes(sweep_file) == []
    s = storage.read(sweep_file)
    dim = "scenario_actors_USA_willingness_mean"
    assert s.p_deterrence.dims == (dim, "draw")
    assert s[dim].attrs["config_path"] == MEAN and s[dim].attrs["units"] == "1"
    np.testing.assert_array_equal(s[dim].values, [0.5, 0.7])
    assert s.attrs["swept_paths"] == MEAN and s.attrs["swept_dims"] == dim


@pytest.mark.slow  # the checker takes 10-25 s a file
@pytest.mark.parametrize("which", ["forecast", "sweep"])
def test_ioos_compliance_checker_passes(which, forecast_file, sweep_file, tmp_path):
    path = forecast_file if which == "forecast" else sweep_file
    passed, failed = compliance_report(path, tmp_path)
    assert failed == [] and passed


@pytest.mark.slow
def test_the_checks_see_a_variable_without_its_attributes(forecast_file, tmp_path):
    """Neither check is a rubber stamp: a probability without long_name and units fails both
    (CF itself lets a dimensionless variable omit units, so only our own check sees that)."""
    ds = storage.read(forecast_file)
    for key in ("long_name", "units", "description"):
        del ds["p_deterrence"].attrs[key]
    for dim in ds.dims:
        ds[dim].encoding["_FillValue"] = None
    bad = storage.write_atomic(ds, tmp_path / "bad.nc")
    problems = check_cf_attributes(bad)
    assert "p_deterrence: no long_name" in problems and "p_deterrence: no units" in problems
    passed, failed = compliance_report(bad, tmp_path)
    assert not passed and any("p_deterrence" in f for f in failed)
