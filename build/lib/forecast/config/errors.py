"""The one error type of a bad configuration."""

from __future__ import annotations


class ConfigError(Exception):
    """One or more problems in the configuration; ``problems`` lists each with its path."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} error{'s' if n != 1 else ''} in the configuration:"
        super().__init__("\n".join([head] + [f"  - {p}" for p in self.problems]))
