"""Where the blocks of draws run. Every executor returns the same :class:`Accumulators`.

Results depend only on ``(seed, draw)``, never on the executor, so every executor gives
bitwise-identical forecasts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from forecast.beliefs import ConfigError
from forecast.sampler import Accumulators, Plan, run_local


def run(
    plan: Plan, executor_cfg: Any, progress: Callable[[int], None] | None = None
) -> Accumulators:
    """Run every draw of ``plan`` on the executor that ``executor_cfg.kind`` names."""
    kind = str(executor_cfg.kind)
    if kind == "local":
        return run_local(plan, progress=progress)
    raise ConfigError([f"executor.kind must be one of ['local'], got {kind}"])
