"""notebooks/backtest.ipynb runs from top to bottom on a real (small) backtest run."""

from __future__ import annotations

from pathlib import Path

from forecast.jobs import backtest as bt
from tests.conftest import REPO, execute_notebook

NOTEBOOK = REPO / "notebooks" / "backtest.ipynb"


def test_backtest_notebook_executes(tmp_path: Path, monkeypatch):
    ds = bt.run_backtest(bt.Settings(draws=20, realizations=500, calibrated=False), log=print)
    bt.write_backtest(ds, tmp_path / "run")
    monkeypatch.setenv("FORECAST_BACKTEST_RUN", str(tmp_path / "run"))
    outputs, text = execute_notebook(NOTEBOOK, tmp_path, timeout=600)
    assert f"{ds.sizes['case']} cases" in text
    assert "overall" in text and "model vs base_rate" in text
    assert "scored events are worse under the model" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the reliability diagram and the scores by kind
