"""The path from a config to a file on disk, without Hydra: config -> plan -> arrays -> Dataset.

``simulate(cfg)`` is what notebooks and tests call; :mod:`forecast.cli` only wraps it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import xarray as xr
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from forecast import executors, results, sampler
from forecast.beliefs import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def load_config(overrides: Sequence[str] = (), config_name: str = "run") -> DictConfig:
    """Compose ``configs/<config_name>.yaml`` with Hydra-style overrides, without running an app.

    Raises :class:`ConfigError` (naming the override or key) on unknown keys or wrong types.
    """
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    from forecast.schema import register_configs

    register_configs()
    try:
        with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError([_hydra_message(exc)]) from None


def _hydra_message(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def merge(cfg: DictConfig, extra: dict | DictConfig) -> DictConfig:
    """Merge ``extra`` into a copy of ``cfg`` with the schema's type and key checks."""
    try:
        return OmegaConf.merge(cfg, extra)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        raise ConfigError([_hydra_message(exc)]) from None


@contextmanager
def progress_bar(total: int, enabled: bool | None) -> Iterator[Any]:
    """A tqdm bar on stderr counting crises; off when stderr is not a terminal (unless forced)."""
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else bool(enabled)
    bar = tqdm(
        total=total,
        unit=" crises",
        unit_scale=True,
        disable=not show,
        file=sys.stderr,
        mininterval=0.5,
        delay=1.0,
        desc="sampling",
    )
    try:
        yield bar.update
    finally:
        bar.close()


def simulate(cfg: DictConfig, progress: bool | None = False) -> xr.Dataset:
    """Run the forecast described by ``cfg`` and return it as a Dataset (nothing is written)."""
    plan = sampler.make_plan(cfg)
    t0 = time.perf_counter()
    with progress_bar(plan.n_draws * plan.settings.realizations, progress) as update:
        acc = executors.run(plan, cfg.executor, progress=update)
    elapsed = time.perf_counter() - t0
    stats = sampler.summarise(plan, acc)
    stats["n_realizations"] = acc.n
    ds = results.to_dataset(plan, stats, OmegaConf.to_yaml(cfg, resolve=True))
    ds.attrs["sampling_seconds"] = elapsed
    ds.attrs["realizations_per_second"] = float(acc.n.sum() / elapsed) if elapsed > 0 else 0.0
    return ds


def run(cfg: DictConfig, out_dir: str | Path, progress: bool | None = None) -> xr.Dataset:
    """Simulate, add the analyses of ``cfg.analysis``, and write ``forecast.nc`` (atomically) and
    the reports (``report.png``, ``summary.csv``, ...) into ``out_dir``."""
    from forecast import analysis, report

    analysis.check(cfg)  # bad analysis options fail before any work, with nothing written
    ds = analysis.analyse(simulate(cfg, progress=progress), cfg, progress=progress)
    results.write_atomic(ds, Path(out_dir) / cfg.output.filename)
    report.write_reports(ds, out_dir, cfg.analysis)
    return ds
