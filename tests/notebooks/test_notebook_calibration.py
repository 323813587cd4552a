"""notebooks/calibration.ipynb runs from top to bottom on a real (small) posterior."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from forecast.config.calibration import register_configs
from forecast.jobs.calibrate import run_calibration
from tests.conftest import execute_notebook

# runs the console scripts / workers / notebooks as separate processes: out of the
# inner loop (-m 'not e2e'), always in CI
pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]

NOTEBOOK = REPO / "notebooks" / "calibration.ipynb"
DATA = Path(os.environ.get("FORECAST_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A small real run with 2-fold cross-validation, made without Hydra's CLI."""
    register_configs()
    with initialize_config_dir(str(REPO / "configs"), version_base="1.3"):
        cfg = compose(
            "calibrate",
            overrides=[
                f"data_dir={DATA}",
                "calibration=quick",
                "calibration.sampling.draws=150",
                "validation.folds=2",
                "validation.fold_draws=100",
                "validation.fold_tune=200",
                "validation.sbc_simulations=0",
            ],
        )
    out = tmp_path_factory.mktemp("calibration_run")
    result = run_calibration(cfg, out)
    assert set(result["written"]) >= {"posterior", "cv_predictions", "cv_scores", "reliability"}
    return out


def test_calibration_notebook_executes(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FORECAST_CALIBRATION_RUN", str(run_dir))
    monkeypatch.setenv("FORECAST_DATA_DIR", str(DATA))
    outputs, text = execute_notebook(NOTEBOOK, tmp_path, timeout=600)
    assert "232 cases in 39 wars" in text
    assert "max R-hat" in text
    assert "CV Leeds-Anac: model Brier" in text and "CV Berkemeier-Fuhrmann: model Brier" in text
    assert "observed rate inside the 90% predictive interval" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # effects, predictive checks, CORP reliability diagram
