"""``forecast-compare RUN_A RUN_B ...``: runs side by side in ``compare.html`` and ``compare.csv``.

The first run is the baseline. Bad input (fewer than two runs, a path without a result) prints
every problem and exits with status 2, writing nothing.
"""

from __future__ import annotations

import argparse
import sys

EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="forecast-compare",
        description="Compare two or more forecast runs (run directories or forecast.nc files): "
        "writes compare.html and compare.csv. The first run is the baseline.",
    )
    parser.add_argument("runs", nargs="+", help="run directories (or their forecast.nc)")
    parser.add_argument("-o", "--out", default=".", help="directory to write into (default: .)")
    parser.add_argument("--filename", default="forecast.nc", help="each run's result file")
    args = parser.parse_args(argv)

    from forecast.config import ConfigError
    from forecast.results.compare import load_runs, write_compare

    try:
        runs = load_runs(args.runs, filename=args.filename)
    except ConfigError as exc:
        print("\n".join(f"error: {p}" for p in exc.problems), file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    for path in write_compare(runs, args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
