"""The wheel works on its own: configs ship inside it and the console script finds them.

Builds a wheel from this checkout, installs it (without dependencies) into a fresh virtual
environment that sees the already installed dependencies, and runs a quick Taiwan forecast from
an empty directory, far from the source tree. Installing every dependency from the registry
again would only re-test pip; what can break here is the wheel's own content.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import xarray as xr

from tests.conftest import REPO

pytestmark = pytest.mark.e2e


def _run(cmd: list[str], cwd: Path, env: dict | None = None, timeout: int = 600):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout's files (the build leaves build/ behind)."""
    src = tmp_path_factory.mktemp("src")
    files = _run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    _run([*pip_wheel, "-w", dist, "."], cwd=src)
    (path,) = dist.glob("forecast-*.whl")
    return path


def test_wheel_ships_every_config(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(REPO / "configs").as_posix() for p in REPO.glob("configs/**/*.yaml")}
    assert shipped, "no configs found in the checkout"
    missing = sorted(s for s in shipped if f"forecast/configs/{s}" not in names)
    assert not missing, f"configs missing from the wheel: {missing}"
    assert "hydra_plugins/forecast_dask_launcher/dask_launcher.py" in names


def test_installed_wheel_runs_a_forecast_from_an_empty_directory(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], cwd=tmp_path)
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = _run([python, "-c", "import forecast; print(forecast.__file__)"], cwd=work, env=env)
    assert str(venv) in where.stdout, f"the wheel's package was not the one imported: {where}"
    _run(
        [
            venv / "bin" / "forecast",
            "scenario=taiwan",
            "sampler=quick",
            "sampler.progress=false",
            "hydra.run.dir=out",
        ],
        cwd=work,
        env=env,
    )
    with xr.open_dataset(work / "out" / "forecast.nc", engine="h5netcdf") as ds:
        assert ds.attrs["draws"] > 0
        assert 0.0 <= float(ds["p_deterrence"].mean()) <= 1.0
        assert "scenario" in ds.attrs["config"]
