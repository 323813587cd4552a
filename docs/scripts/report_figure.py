"""Regenerate ``docs/assets/report.png``: the report of the default Taiwan forecast.

Run from the repository root: ``python docs/scripts/report_figure.py``. The footer keeps the
package version and the seed; the run's time and revision are left out, so that the picture
changes only when the model, the scenario or the report does.
"""

from __future__ import annotations

from pathlib import Path

from forecast.config.loading import load_config
from forecast.jobs.run import simulate
from forecast.results import report

OUT = Path(__file__).resolve().parents[1] / "assets" / "report.png"


def main() -> None:
    ds = simulate(load_config(["scenario=taiwan", "sampler.progress=false"]))
    ds.attrs.update(git_revision="n/a (documentation figure)", created="n/a")
    report.save_figure(report.plot_report(ds), OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
