"""The sweep notebook runs from top to bottom (a real multirun, collected and analysed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import execute_notebook

# runs the console scripts / workers / notebooks as separate processes: out of the
# inner loop (-m 'not e2e'), always in CI
pytestmark = pytest.mark.e2e

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "taiwan_sweep.ipynb"


def test_taiwan_sweep_notebook_executes(tmp_path):
    outputs, text = execute_notebook(NOTEBOOK, tmp_path, timeout=300)
    assert "collected 6 of 6 jobs" in text
    assert "effect of US willingness 0.5 -> 0.9: +" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
