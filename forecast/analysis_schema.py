"""Schema of the ``analysis`` config node: what is computed and drawn besides the forecast."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AnalysisConfig:
    # write report.png and summary.csv beside forecast.nc
    report: bool = True
