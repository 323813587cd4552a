"""A sweep job counts as finished only with its forecast and, when asked for, its reports."""

from __future__ import annotations

from forecast.jobs.run import run
from forecast.results import resume
from tests.conftest import quick_config


def test_a_job_stopped_before_its_reports_is_not_done(tmp_path):
    cfg = quick_config(draws=4, realizations=500)
    run(cfg, tmp_path)
    assert resume.why_not_done(tmp_path / "forecast.nc", cfg) is None
    (tmp_path / "report.png").unlink()
    assert resume.why_not_done(tmp_path / "forecast.nc", cfg) == "reports missing ['report.png']"
    # without reports asked for, the forecast alone is a finished job
    no_reports = quick_config("analysis.report=false", draws=4, realizations=500)
    run(no_reports, tmp_path / "plain")
    assert not (tmp_path / "plain" / "report.png").exists()
    assert resume.why_not_done(tmp_path / "plain" / "forecast.nc", no_reports) is None
