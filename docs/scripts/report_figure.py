"""Regenerate ``docs/assets/report.png`` and ``docs/assets/war.png``: the report of the default
Taiwan forecast and its war over the phases.

Run from the repository root: ``python docs/scripts/report_figure.py``. The footer keeps the
package version and the seed; the run's time and revision are left out, so that the picture
changes only when the model, the scenario or the report does.
"""

from __future__ import annotations

from pathlib import Path

from forecast.config.loading import load_config
from forecast.jobs.run import simulate
from forecast.results import report

ASSETS = Path(__file__).resolve().parents[1] / "assets"
OUT, WAR = ASSETS / "report.png", ASSETS / "war.png"


def main() -> None:
    ds = simulate(load_config(["scenario=taiwan", "sampler.progress=false"]))
    ds.attrs.update(git_revision="n/a (documentation figure)", created="n/a")
    report.save_figure(report.plot_report(ds), OUT)
    report.save_figure(report.plot_war(ds), WAR)
    print(f"wrote {OUT} and {WAR}")


if __name__ == "__main__":
    main()
