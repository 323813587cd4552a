"""The sweep notebook runs from top to bottom (a real multirun, collected and analysed)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "taiwan_sweep.ipynb"


def test_taiwan_sweep_notebook_executes(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "collected 6 of 6 jobs" in text
    assert "effect of US willingness 0.5 -> 0.9: +" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
