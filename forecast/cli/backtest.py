"""``forecast-backtest``: forecast the historical case library and score it.

    forecast-backtest [out=DIR] [draws=200] [realizations=2000] [seed=N] [calibrated=true]
                      [data_dir=DIR] [cases=backtest_poland_1939,backtest_korea_1950]

Writes ``backtest.nc``, ``backtest.csv``, ``scores.csv``, ``case_scores.csv`` and
``reliability.png`` into ``out`` (default ``outputs/backtest/<time>``) and prints the scores
table. ``calibrated=true`` (the default) fits the historical honour model once per distinct
set of earlier wars; it needs the data directory (``data_dir=`` or ``$FORECAST_DATA_DIR``).
Bad arguments exit with status 2 and a message.
"""

from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import fields
from pathlib import Path

EXIT_BAD_INPUT = 2
_BOOL = {"true": True, "false": False}


def parse(argv: list[str]) -> tuple[dict, Path | None, list[str] | None]:
    """``key=value`` arguments -> (Settings keyword arguments, out dir, case names)."""
    from forecast.jobs.backtest import Settings

    types = {f.name: f.type for f in fields(Settings)}
    kwargs: dict = {}
    out, cases, problems = None, None, []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not sep:
            problems.append(f"expected key=value, got {arg!r}")
        elif key == "out":
            out = Path(value)
        elif key == "cases":
            cases = [c for c in value.split(",") if c]
        elif key not in types:
            problems.append(f"unknown argument {key!r} (known: out, cases, {', '.join(types)})")
        elif types[key] == "bool":
            if value.lower() not in _BOOL:
                problems.append(f"{key} must be true or false, got {value!r}")
            else:
                kwargs[key] = _BOOL[value.lower()]
        elif types[key] == "int":
            if not value.isdigit() or int(value) < 1:
                problems.append(f"{key} must be a positive integer, got {value!r}")
            else:
                kwargs[key] = int(value)
        else:
            kwargs[key] = value
    if problems:
        raise ValueError("; ".join(problems))
    return kwargs, out, cases


def main(argv: list[str] | None = None) -> None:
    from forecast.calibration.data import DataError
    from forecast.config import ConfigError
    from forecast.jobs import backtest
    from forecast.results.backtest import format_scores

    try:
        kwargs, out, cases = parse(list(sys.argv[1:] if argv is None else argv))
        known = backtest.case_names()
        unknown = sorted(set(cases or ()) - set(known))
        if unknown:
            raise ValueError(f"unknown cases {unknown} (known: {', '.join(known)})")
        settings = backtest.Settings(**kwargs)
        log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
        ds = backtest.run_backtest(settings, cases, log=log)
    except (ValueError, ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("interrupted: nothing written", file=sys.stderr)
        sys.exit(130)
    stamp = _dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out = out or Path("outputs") / "backtest" / stamp
    paths = backtest.write_backtest(ds, out)
    print(f"backtest of {ds.sizes['case']} cases, {ds.attrs['seconds']:.0f} s")
    print("mean scores over scored events (lower is better):")
    print(format_scores(ds))
    print(f"wrote {paths['nc']}, {paths['csv'].name}, {paths['png'].name}")


if __name__ == "__main__":
    main()
