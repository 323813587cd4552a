"""Session fixtures of the calibration tests: the case table and ONE small real posterior.

The posterior is fitted once per test session by the real job code (NUTS on the real files,
2 chains x (150 + 200) draws, about a minute on 2 cores) and shared by every test that needs a
posterior; tests that need other fits are marked ``slow``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from forecast.calibration.cases import load_cases
from forecast.config.calibration import register_configs

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("FORECAST_DATA_DIR", REPO.parent / "shared" / "data"))


def calibrate_config(*overrides: str):
    """The composed ``calibrate`` config with the quick sampler and the given overrides."""
    register_configs()
    with initialize_config_dir(str(REPO / "configs"), version_base="1.3"):
        return compose(
            "calibrate",
            overrides=[
                f"data_dir={DATA}",
                "calibration=quick",
                "calibration.sampling.draws=150",
                "calibration.sampling.tune=200",
                "calibration.sampling.progress=false",
                *overrides,
            ],
        )


@pytest.fixture(scope="session")
def cases() -> pd.DataFrame:
    return load_cases(DATA)[0]


@pytest.fixture(scope="session")
def calibration_run(tmp_path_factory) -> dict:
    """One real ``forecast-calibrate`` job (no validation); its result and run directory."""
    from forecast.jobs.calibrate import run_calibration

    out = tmp_path_factory.mktemp("calibration_run")
    result = run_calibration(calibrate_config("validation.enabled=false"), out)
    return {"dir": out, **result}


@pytest.fixture(scope="session")
def posterior(calibration_run) -> Path:
    """Path of the session's posterior.nc."""
    return Path(calibration_run["written"]["posterior"])
