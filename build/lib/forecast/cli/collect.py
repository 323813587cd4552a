"""``forecast-collect DIR``: merge a multirun directory into ``DIR/sweep.nc`` and draw its curves.

Bad input (no such directory, no jobs, no job with a result) prints the problem and exits with
status 2, writing nothing. A sweep with failed or missing jobs is collected, and each of them is
listed; ``--strict`` then exits with status 1.
"""

from __future__ import annotations

import argparse
import sys

EXIT_INCOMPLETE = 1
EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="forecast-collect",
        description="Merge a Hydra multirun directory of forecasts into DIR/sweep.nc, with one "
        "dim per swept config path, and draw sweep_<variable>.png curves.",
    )
    parser.add_argument("dir", help="the multirun directory (hydra.sweep.dir)")
    parser.add_argument("--filename", default="forecast.nc", help="each job's result file")
    parser.add_argument("--no-plots", action="store_true", help="write sweep.nc only")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when any job failed or is missing"
    )
    args = parser.parse_args(argv)

    from forecast.config import ConfigError
    from forecast.results.collect import collect, format_collected

    try:
        result = collect(args.dir, filename=args.filename, plots=not args.no_plots)
    except ConfigError as exc:
        head, *rest = exc.problems
        print("\n".join([f"error: {head}"] + [f"  - {p}" for p in rest]), file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    print(format_collected(result))
    if result.problems:
        print(
            f"warning: {len(result.problems)} of {len(result.jobs)} jobs failed or are missing; "
            "their cells in sweep.nc are NaN",
            file=sys.stderr,
        )
        if args.strict:
            sys.exit(EXIT_INCOMPLETE)


if __name__ == "__main__":
    main()
