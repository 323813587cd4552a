"""Where the shipped configs live, and composing a run config without running a Hydra app.

In a source checkout the configs are the top-level ``configs/`` folder; in an installed wheel
they are package data at ``forecast/configs``. :func:`config_dir` finds whichever is there, so
the console scripts and :func:`load_config` work the same either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from forecast.config.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parents[1]


def config_dir() -> Path:
    """The directory holding ``run.yaml`` and the config groups (wheel first, then checkout)."""
    for candidate in (_PACKAGE / "configs", _PACKAGE.parent / "configs"):
        if (candidate / "run.yaml").is_file():
            return candidate
    raise ConfigError([f"no shipped configs found next to {_PACKAGE} (is the install complete?)"])


_BELIEF_TYPES = ("CapabilityBelief",)


def hydra_message(exc: BaseException) -> str:
    """Hydra's or OmegaConf's error text on one line, with its cause's (which names the key).

    A plain number where the schema has a belief ``{mean, sd}`` gets a hint how to write it.
    """
    parts = [str(exc).strip()]
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause).strip() and str(cause).strip() not in parts[0]:
        parts.append(str(cause).strip())
    text = ": ".join(" ".join(ln.strip() for ln in p.splitlines() if ln.strip()) for p in parts)
    key = getattr(cause, "full_key", None) or getattr(exc, "full_key", None)
    if key and any(f"is not a subclass of {t}" in text for t in _BELIEF_TYPES):
        from forecast.config.silent import belief_hint

        text += f" -- {belief_hint(key)}"
    return text


def load_config(overrides: Sequence[str] = (), config_name: str = "run") -> DictConfig:
    """Compose ``<config_dir>/<config_name>.yaml`` with Hydra-style overrides, without an app.

    Raises :class:`ConfigError` (naming the override or key) on unknown keys or wrong types.
    """
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    from forecast.config.calibration import register_configs as register_calibration
    from forecast.config.schema import register_configs

    register_configs()
    register_calibration()
    from forecast.config.silent import empty_mapping_overrides, number_for_belief_overrides

    problems = number_for_belief_overrides(overrides)  # as the console scripts check first
    if problems:
        raise ConfigError(problems)
    try:
        with initialize_config_dir(str(config_dir()), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        text = hydra_message(exc)
        raise ConfigError(_belief_numbers_in_file(text, overrides) or [text]) from None
    problems = empty_mapping_overrides(cfg, overrides)
    if problems:
        raise ConfigError(problems)
    return cfg


def _belief_numbers_in_file(text: str, overrides: Sequence[str]) -> list[str]:
    """Hydra's error for a number where a group option's file has a belief names no key: find
    the file (in the shipped configs or a ``hydra.searchpath`` directory) and name each one."""
    import re

    from forecast.config.silent import numbers_for_beliefs

    found = re.match(r"In '([\w\-]+)/([\w\-]+)'", text)
    if not found or "is not a subclass of CapabilityBelief" not in text:
        return []
    group, option = found.groups()
    dirs = [config_dir()]
    for ov in overrides:
        if ov.startswith("hydra.searchpath="):
            dirs += [Path(d.strip()[len("file://") :]) for d in re.findall(r"file://[^,\]]+", ov)]
    for d in dirs:
        path = d / group / f"{option}.yaml"
        if path.is_file():
            return numbers_for_beliefs(OmegaConf.load(path), group)
    return []


def merge(cfg: DictConfig, extra: dict | DictConfig) -> DictConfig:
    """Merge ``extra`` into a copy of ``cfg`` with the schema's type and key checks.

    An empty mapping in ``extra`` over a non-empty one in ``cfg`` is an error: it would change
    nothing (see :mod:`forecast.config.silent`).
    """
    from forecast.config.silent import empty_mappings

    problems = empty_mappings(cfg, extra)
    if problems:
        raise ConfigError(problems)
    try:
        return OmegaConf.merge(cfg, extra)  # type: ignore[return-value]
    except OmegaConfBaseException as exc:
        raise ConfigError([hydra_message(exc)]) from None
