"""Shared fixtures: the historical data directory and quick configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from omegaconf import OmegaConf, open_dict

from forecast.config.loading import load_config

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


def bare_scenario(quick, actors, factors=None, draws=4, realizations=20000, **scenario):
    """A quick config whose scenario holds only ``actors``, ``factors`` and ``scenario`` parts.

    Every mechanism the base scenario switched on (attack types, institutions, the aggressor's
    type choice and fait accompli, the war as a process: phases, attrition, the target's resolve,
    escalation) is reset to its default, off; the aggressor's prize, cost and decision noise and
    the horizon to the schema's defaults, known.
    """
    from forecast.config.schema import EscalationConfig, ResolveConfig, WarConfig

    cfg = quick(draws=draws, realizations=realizations)
    sc = cfg.scenario
    with open_dict(cfg):
        for node in (sc.actors, sc.factors, sc.attack_types, sc.institutions):
            for key in list(node):
                del node[key]
        sc.war = OmegaConf.structured(WarConfig)
        sc.target.resolve = OmegaConf.structured(ResolveConfig)
        sc.escalation = OmegaConf.structured(EscalationConfig)
        base = {
            "aggressor": {
                "choose_type": False,
                "fait_accompli": {"mean": 0.0, "sd": 0.0, "spread": 0.0},
                # the schema's defaults, known
                "prize": {"mean": 1.0, "sd": 0.0},
                "cost": {"mean": 0.3, "sd": 0.0},
                "decision_noise": {"mean": 0.1, "sd": 0.0},
            },
            "horizon": {"years": 1.0, "opportunities_per_year": {"mean": 1.0, "sd": 0.0}},
            "late_discount": 0.5,
            "contest": {"exponent": 1.0},
        }
        cfg.merge_with({"scenario": base})
        cfg.merge_with({"scenario": {"actors": actors, "factors": factors or {}, **scenario}})
    return cfg


def execute_notebook(path: Path, cwd: Path, timeout: int) -> tuple[list, str]:
    """Run a notebook top to bottom; return its outputs and the text of its streams.

    Fails if any cell raised.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    return outputs, text
