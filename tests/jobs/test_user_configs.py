"""Users keep their own configs through Hydra's search path: the example of
docs/configuration.md ("Your own configs"), run exactly as documented, from an empty directory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from forecast import storage

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
QUICK = ["sampler.draws=10", "sampler.realizations=1000", "sampler.block_size=500"]


def blocks() -> list[tuple[str, str]]:
    """(opening line after the fence, body) of every fenced block of docs/configuration.md."""
    return re.findall(r"^```([^\n]*)\n(.*?)^```", DOC.read_text(), re.M | re.S)


def documented(pattern: str) -> str:
    """The first fenced block whose opening line matches ``pattern``."""
    return next(body for head, body in blocks() if re.search(pattern, head))


def documented_commands() -> list[list[str]]:
    """The ``forecast ... scenario=island`` command lines of the example, as argv lists."""
    body = next(b for head, b in blocks() if head == "bash" and "scenario=island" in b)
    lines = [line.split("#")[0].strip() for line in body.splitlines() if line.strip()]
    return [_split(line) for line in lines]


def _split(line: str) -> list[str]:
    # the documented lines quote only the searchpath override, with single quotes
    parts = re.findall(r"'[^']*'|\S+", line)
    return [p.strip("'") for p in parts]


@pytest.fixture
def my_configs(tmp_path: Path) -> Path:
    """The documented scenario file, written where the example puts it."""
    block = documented(r'title="my_configs/scenario/island\.yaml"')
    path = tmp_path / "my_configs" / "scenario" / "island.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(block)
    return tmp_path / "my_configs"


def test_the_documented_example_has_both_forms():
    commands = documented_commands()
    assert [c[:2] for c in commands] == [
        ["forecast", "--config-dir"],
        ["forecast", "hydra.searchpath=[file:///path/to/my_configs]"],
    ]


@pytest.mark.parametrize("form", [0, 1])
def test_a_users_scenario_runs_through_the_search_path(my_configs, tmp_path, form):
    argv = documented_commands()[form]
    argv = [a.replace("/path/to/my_configs", str(my_configs)) for a in argv]
    out = tmp_path / f"run{form}"
    cmd = [sys.executable, "-m", "forecast.cli.run", *argv[1:], *QUICK, f"hydra.run.dir={out}"]
    res = subprocess.run(
        cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert res.returncode == 0, res.stderr
    ds = storage.read(out / "forecast.nc")
    assert ds.attrs["scenario"] == "island"
    assert list(ds.actor.values) == ["BIG", "NBR"]


def test_a_users_bad_scenario_is_named_by_its_config_path(my_configs, tmp_path):
    path = my_configs / "scenario" / "island.yaml"
    path.write_text(path.read_text().replace("mean: 0.7", "mean: 1.7"))
    out = tmp_path / "bad"
    cmd = [sys.executable, "-m", "forecast.cli.run", "--config-dir", str(my_configs)]
    cmd += ["scenario=island", *QUICK, f"hydra.run.dir={out}"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 2
    assert "scenario.actors.BIG.willingness.mean must be a probability in (0, 1), got 1.7" in (
        res.stderr
    )
    assert "Traceback" not in res.stderr
    assert not (out / "forecast.nc").exists()
