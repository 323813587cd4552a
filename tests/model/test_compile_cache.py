"""The numba compile cache: reused by a fresh process, and never stale after a kernel changes.

numba keys a cached function on its source file's stamp, on the function's own bytecode and on
the numba version; it does not look at the code of the functions it calls, so a helper's edit
in another file would go unseen. :mod:`forecast.model.jit` therefore gives every function of the
model's jitted files (``jit.JITTED``) the stamp of all of them together, and these tests check,
in fresh processes with their own ``NUMBA_CACHE_DIR``:

- a kernel whose body changed, or whose inlined helper changed (in the same file or in another
  file of the group), runs the new code, not the cached one;
- an unchanged kernel is loaded from the cache (a cache hit, no compilation);
- the real kernels are written to the cache on the first run and loaded from it on the second.

Timings are not asserted here; ``benchmarks/bench_sampler.py`` measures compile and load times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

TINY = """
import os

from numba import njit

from forecast.model.jit import JIT, share_cache_stamp

HERE = os.path.dirname(os.path.abspath(__file__))
share_cache_stamp(tuple(os.path.join(HERE, f) for f in ("tiny_kernels.py", "tiny_helpers.py")))

from tiny_helpers import other  # noqa: E402


@njit(inline="always", **JIT)
def helper(x):
    return x + {offset}


@njit(**JIT)
def kernel(x):
    return other(helper(x)) * {factor}
"""

HELPERS = """
from numba import njit

from forecast.model.jit import JIT


@njit(inline="always", **JIT)
def other(x):
    return x + {other}
"""

RUN_TINY = """
import json, sys
sys.path.insert(0, sys.argv[1])
import tiny_kernels as m
result = m.kernel(2)
stats = m.kernel.stats
print(json.dumps({"result": result, "hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values())}))
"""

RUN_REAL = """
import json
from forecast.model import kernels, random_numbers
from forecast.sampling import sampler
from forecast.config.loading import load_config

plan = sampler.make_plan(load_config(["sampler.draws=2", "sampler.realizations=100"]))
out = sampler.run_draws(plan, [0])
counts = {}
for name, module in (("fill_block", random_numbers), ("simulate_block", kernels)):
    stats = getattr(module, name).stats
    counts[name] = {"hits": sum(stats.cache_hits.values()),
                    "misses": sum(stats.cache_misses.values())}
counts["p_join"] = out.by_partner[0, 0, :, kernels.P_JOIN].tolist()
print(json.dumps(counts))
"""


def run_fresh(code: str, *args: str, cache: Path) -> dict:
    """Run ``code`` in a fresh interpreter with its own numba cache; return its JSON line."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_module(
    folder: Path, offset: int, factor: int, later_than: Path | None = None, other: int = 0
) -> Path:
    (folder / "tiny_helpers.py").write_text(textwrap.dedent(HELPERS.format(other=other)))
    path = folder / "tiny_kernels.py"
    path.write_text(textwrap.dedent(TINY.format(offset=offset, factor=factor)))
    if later_than is not None:
        # an edit happens after the cached run: make the stamp differ even on a coarse clock
        t = later_than.stat().st_mtime + 2
        os.utime(path, (t, t))
    return path


@pytest.mark.e2e  # compiles in fresh processes
def test_unchanged_kernel_is_loaded_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    write_module(tmp_path, offset=1, factor=10)
    first = run_fresh(RUN_TINY, str(tmp_path), cache=cache)
    second = run_fresh(RUN_TINY, str(tmp_path), cache=cache)
    assert first == {"result": 30, "hits": 0, "misses": 1}
    assert second == {"result": 30, "hits": 1, "misses": 0}
    assert list(cache.rglob("tiny_kernels.kernel-*.nbi")), "no cache index written"


@pytest.mark.e2e  # compiles in fresh processes
def test_changed_kernel_body_never_runs_stale_code(tmp_path):
    cache = tmp_path / "cache"
    path = write_module(tmp_path, offset=1, factor=10)
    size = path.stat().st_size
    assert run_fresh(RUN_TINY, str(tmp_path), cache=cache)["result"] == 30
    write_module(tmp_path, offset=1, factor=20, later_than=path)
    assert path.stat().st_size == size  # the same size: only the code and the time differ
    changed = run_fresh(RUN_TINY, str(tmp_path), cache=cache)
    assert changed["result"] == 60
    assert changed["misses"] == 1  # recompiled, not loaded
    assert run_fresh(RUN_TINY, str(tmp_path), cache=cache) == {
        "result": 60,
        "hits": 1,
        "misses": 0,
    }


@pytest.mark.e2e  # compiles in fresh processes
def test_changed_inlined_helper_recompiles_its_caller(tmp_path):
    """The kernel's cached code embeds its inlined helper; editing only the helper must show."""
    cache = tmp_path / "cache"
    path = write_module(tmp_path, offset=1, factor=10)
    assert run_fresh(RUN_TINY, str(tmp_path), cache=cache)["result"] == 30
    write_module(tmp_path, offset=5, factor=10, later_than=path)
    assert run_fresh(RUN_TINY, str(tmp_path), cache=cache)["result"] == 70


@pytest.mark.e2e  # compiles in fresh processes
def test_changed_helper_in_another_file_of_the_group_recompiles_its_caller(tmp_path):
    """The kernel's file is unchanged; only the inlined helper's file (same group) changes."""
    cache = tmp_path / "cache"
    write_module(tmp_path, offset=1, factor=10)
    assert run_fresh(RUN_TINY, str(tmp_path), cache=cache) == {"result": 30, "hits": 0, "misses": 1}
    kernel_file = (tmp_path / "tiny_kernels.py").read_bytes()
    write_module(tmp_path, offset=1, factor=10, other=4)
    assert (tmp_path / "tiny_kernels.py").read_bytes() == kernel_file
    changed = run_fresh(RUN_TINY, str(tmp_path), cache=cache)
    assert changed == {"result": 70, "hits": 0, "misses": 1}
    assert run_fresh(RUN_TINY, str(tmp_path), cache=cache)["hits"] == 1


@pytest.mark.e2e  # compiles in fresh processes
def test_real_kernels_compile_once_then_load_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    first = run_fresh(RUN_REAL, cache=cache)
    second = run_fresh(RUN_REAL, cache=cache)
    for name in ("fill_block", "simulate_block"):
        assert first[name] == {"hits": 0, "misses": 1}, (name, first)
        assert second[name] == {"hits": 1, "misses": 0}, (name, second)
    assert first["p_join"] == second["p_join"]  # the cached code computes the same thing
    index = {p.name.split("-")[0] for p in cache.rglob("*.nbi")}
    assert {"random_numbers.fill_block", "kernels.simulate_block"} <= index


@pytest.mark.parametrize("path", sorted((REPO / "forecast" / "model").glob("*.py")))
def test_jitted_files_import_nothing_jitted_from_outside_their_group(path):
    """numba does not invalidate a cached caller when a callee outside its stamp group changes:
    a file with jitted code imports jitted code only from files of jit.JITTED, and is one."""
    from forecast.model import jit

    source = path.read_text()
    if "@njit" not in source:
        return
    assert str(path) in jit.JITTED, f"{path.name} has jitted code but is not in jit.JITTED"
    group = {Path(f).stem for f in jit.JITTED}
    imports = [
        line.strip()
        for line in source.splitlines()
        if line.startswith(("import ", "from ")) and not line.startswith("from __future__")
    ]
    allowed = ("import math", "import numpy as np", "from numba import ", "from numba.")
    own = tuple(f"from forecast.model.{name} import " for name in (*group, "jit"))
    assert all(line.startswith(allowed + own) for line in imports), imports
