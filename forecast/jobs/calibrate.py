"""The ``forecast-calibrate`` job without Hydra: fit, validate, predict, write files.

:func:`run_calibration` dispatches on ``cfg.calibration.kind`` through :data:`KINDS`, so a
second kind of calibration (another model on other data) adds one entry; ``"honour"`` is the
model of P(honour) in :mod:`forecast.calibration`. All input is checked before anything is
written; files are written atomically.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from forecast.calibration.data import DataError, resolve_data_dir
from forecast.config.calibration import validate_config
from forecast.storage import write_csv, write_csv_with_sidecar, write_json

log = logging.getLogger(__name__)

_PACKAGES = (
    "forecast",
    "pymc",
    "pytensor",
    "arviz-stats",
    "scoringrules",
    "numpy",
    "pandas",
    "xarray",
)


def provenance(cfg) -> dict:
    """Creation time, package versions, git revision and the resolved config as YAML."""
    from forecast.storage import git_revision, package_versions

    return {
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "created_by": "forecast-calibrate",
        "package_versions": json.dumps(package_versions(_PACKAGES)),
        "git_revision": git_revision(),
        "config_yaml": OmegaConf.to_yaml(cfg) if isinstance(cfg, DictConfig) else str(cfg),
    }


def run_calibration(cfg, out_dir: str | os.PathLike) -> dict:
    """Run the calibration ``cfg`` (a :class:`CalibrateConfig` or DictConfig) asks for.

    Returns
    -------
    dict
        ``written`` (name -> path) and ``summary`` (the headline numbers).

    Raises
    ------
    ConfigError, DataError
        On bad input; nothing has been written then.
    """
    kind = str(getattr(cfg.calibration, "kind", "honour"))
    if kind not in KINDS:
        from forecast.config import ConfigError

        raise ConfigError([f"calibration.kind = {kind!r}: expected one of {', '.join(KINDS)}"])
    return KINDS[kind](cfg, Path(out_dir))


def run_honour(cfg, out_dir: Path) -> dict:
    """Fit, validate and predict the model of P(honour) (see :mod:`forecast.calibration.fit`)."""
    from forecast.jobs import honour as job

    validate_config(cfg)
    data_dir = resolve_data_dir(cfg.data_dir)
    inputs = job.load_inputs(cfg, data_dir)
    attrs = provenance(cfg) | {
        "data_dir": str(data_dir),
        "data_report": json.dumps(inputs.report),
        "seed": int(cfg.calibration.sampling.seed),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    started = time.perf_counter()
    tree = job.fitted_posterior(cfg, inputs)
    fit_seconds = float("nan") if cfg.posterior else time.perf_counter() - started
    if not cfg.posterior:
        from forecast.calibration.fit import save_posterior

        written["posterior"] = str(save_posterior(tree, out_dir / cfg.posterior_file, attrs))
    summary = job.fit_summary(tree, inputs) | {"fit_seconds": fit_seconds, "provenance": attrs}
    if inputs.predict is not None:
        table, warnings = job.predictions_table(cfg, tree, inputs)
        summary["prediction_warnings"] = warnings
        written |= write_csv_with_sidecar(
            out_dir / "predictions.csv",
            table,
            attrs,
            coding=str(cfg.coding),
            warnings=warnings,
        )
    if cfg.validation.enabled:
        written |= job.validate(cfg, inputs, tree, out_dir, attrs, summary)
    written["summary"] = str(write_json(out_dir / "calibration.json", summary))
    return {"written": written, "summary": summary}


def run_deterrence(cfg, out_dir: Path) -> dict:
    """Fit, validate and predict the initiation model (see :mod:`forecast.jobs.deterrence`)."""
    from forecast.jobs import deterrence

    return deterrence.run_deterrence(cfg, out_dir)


#: Calibration kinds by ``calibration.kind``: (cfg, out_dir) -> {"written", "summary"}.
KINDS: dict[str, Callable[..., dict]] = {"honour": run_honour, "deterrence": run_deterrence}

__all__ = ["KINDS", "DataError", "provenance", "run_calibration", "run_honour", "write_csv"]
