"""Resuming a sweep: is a job's ``forecast.nc`` already there, whole, and from the same config?

A job counts as done when its result file opens, holds the core variables with one row per
epistemic draw, and records (in its ``config`` attribute) the same result-relevant config as the
job about to run. Settings that cannot change a result (threads, progress bar, executor) are left
out of the comparison, so a sweep may be resumed on other hardware. A file from a different
config, a truncated or corrupt file, or none at all means the job runs again. Files are written
atomically (:func:`forecast.results.dataset.write_atomic`), so an interrupted job leaves no file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict

from forecast import storage
from forecast.results import dataset as results

#: Variables every forecast has; a file without them is not a finished forecast.
REQUIRED = ("p_attack", "p_deterrence", "p_defense_success", "p_join", "n_realizations")
#: Config paths that do not change a forecast's numbers (results depend only on seed and draw).
IRRELEVANT = ("executor", "sampler.threads", "sampler.progress")


def result_config(cfg: DictConfig | dict[str, Any]) -> dict[str, Any]:
    """The config as plain data, resolved, without the keys in :data:`IRRELEVANT` (or ``hydra``)."""
    if isinstance(cfg, DictConfig):
        cfg = cfg.copy()
        with open_dict(cfg):
            cfg.pop("hydra", None)
        # through YAML, as results.provenance stores it, so that both sides compare alike
        data = yaml.safe_load(OmegaConf.to_yaml(cfg, resolve=True))
    else:
        data = dict(cfg)
    for path in IRRELEVANT:
        *parents, leaf = path.split(".")
        node = data
        for key in parents:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    return data


def why_not_done(path: str | Path, cfg: DictConfig) -> str | None:
    """``None`` when ``path`` is a finished forecast of ``cfg``, else the reason it is not."""
    path = Path(path)
    if not path.is_file():
        return "no result file"
    try:
        ds = storage.read(path)
    except Exception as exc:  # any failure to open means: not a usable result
        return f"unreadable ({type(exc).__name__})"
    missing = [name for name in REQUIRED if name not in ds.data_vars]
    if missing:
        return f"missing variables {missing}"
    if ds.sizes.get(results.DRAW) != int(cfg.sampler.draws):
        return f"{ds.sizes.get(results.DRAW)} draws, the config asks for {cfg.sampler.draws}"
    try:
        stored = yaml.safe_load(ds.attrs["config"])
    except (KeyError, yaml.YAMLError):
        return "no readable config attribute"
    if not isinstance(stored, dict) or result_config(stored) != result_config(cfg):
        return "made from a different config"
    analysis = cfg.get("analysis")
    if analysis is not None and analysis.get("report", False):
        # the reports are written after forecast.nc: a job stopped between them is not done
        missing_reports = [
            n for n in ("report.png", "summary.csv") if not (path.parent / n).is_file()
        ]
        if missing_reports:
            return f"reports missing {missing_reports}"
    return None


def is_done(path: str | Path, cfg: DictConfig) -> bool:
    """Whether ``path`` is a finished forecast of ``cfg`` (see :func:`why_not_done`)."""
    return why_not_done(path, cfg) is None
