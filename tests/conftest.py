"""Shared fixtures: the historical data directory and quick configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forecast.run import load_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared historical datasets (never copied into the repo)."""
    path = Path(os.environ.get("FORECAST_DATA_DIR", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.fail(f"historical data directory not found: {path} (set FORECAST_DATA_DIR)")
    return path


def quick_config(*overrides: str, draws: int = 40, realizations: int = 2000):
    """A composed run config with a small sampler, plus Hydra-style overrides."""
    return load_config(
        [
            f"sampler.draws={draws}",
            f"sampler.realizations={realizations}",
            f"sampler.block_size={min(realizations, 1000)}",
            "sampler.progress=false",
            *overrides,
        ]
    )


@pytest.fixture
def quick():
    return quick_config
