"""Files on disk: atomic writes and provenance. The lowest layer: imports no other part of
:mod:`forecast`, so every layer that writes a file (calibration, results, reports) uses it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

_PACKAGES = ("forecast", "numpy", "numba", "scipy", "xarray", "h5netcdf", "hydra-core", "pymc")


def git_revision() -> str:
    """The git revision of the package's checkout, with ``-dirty`` when it has changes."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions(names: tuple[str, ...] = _PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` ("not installed" for those missing)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def provenance(config_yaml: str, seed: int) -> dict[str, Any]:
    """Attributes that say how a result was made."""
    versions = package_versions()
    attrs: dict[str, Any] = {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "seed": int(seed),
        "config": config_yaml,
        "git_revision": git_revision(),
        "package_versions": "\n".join(f"{k}=={v}" for k, v in versions.items()),
    }
    for k, v in versions.items():
        attrs[f"version_{k.replace('-', '_')}"] = v
    return attrs


def replace_atomically(path: str | os.PathLike, write: Any) -> Path:
    """Call ``write(tmp)`` on a temporary name beside ``path``, then rename it to ``path``.

    A crash or Ctrl-C leaves either no file at ``path`` or a complete one. The one place that
    writes result files: netCDF, posteriors, plots, CSV and JSON all come through here.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_atomic(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` as netCDF (h5netcdf) to ``path`` through :func:`replace_atomically`."""
    return replace_atomically(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read(path: str | os.PathLike) -> xr.Dataset:
    """Open a result file fully into memory (the file is closed on return)."""
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def write_json(path: Path, obj: dict) -> Path:
    """``obj`` as indented JSON (numpy scalars and arrays as plain numbers and lists)."""
    text = json.dumps(obj, indent=2, default=_jsonable)
    return replace_atomically(path, lambda tmp: Path(tmp).write_text(text))


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """A plain CSV (header row, then data; no comment lines): every reader takes it as is.
    Provenance goes into a ``.json`` sidecar of the same name."""
    return replace_atomically(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_csv_with_sidecar(path: Path, frame: pd.DataFrame, attrs: dict, **extra) -> dict:
    """``path`` as a plain CSV and ``path.with_suffix('.json')`` with its provenance."""
    sidecar = {"file": path.name, "columns": list(frame.columns), **extra, "provenance": attrs}
    return {
        path.stem: str(write_csv(path, frame)),
        f"{path.stem}_provenance": str(write_json(path.with_suffix(".json"), sidecar)),
    }
