"""Schema of the ``executor`` config group: where the blocks of draws run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ExecutorConfig:
    # local: a thread pool in this process (sampler.threads threads)
    kind: str = "local"
