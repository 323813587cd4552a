"""Loaders for the historical alliance-performance datasets.

Contract: reads CSV files from a directory (``data_dir=`` or the ``FORECAST_DATA_DIR``
environment variable), validates every row against a per-file table of column rules and raises
one :class:`DataError` listing *every* malformed row. Nothing is dropped silently: rows that are
not performance opportunities (Berkemeier-Fuhrmann ``dnaLLM == 1``) are excluded by definition
and counted in :func:`load_cases`'s report.

The data files are public academic datasets; they are never copied into this repository.
:data:`SOURCES` says where a user can obtain each one.

Depends on numpy and pandas only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.calibration.wars import V3_TO_V4

DATA_DIR_ENV = "FORECAST_DATA_DIR"

#: Commitment-type dummies (ATOP obligations), in model order.
TYPE_COLUMNS = ("defense", "offense", "neutral", "nonagg", "consul")
#: Leeds-Anac (2005) covariates of the classic five-covariate logit, in model order.
LA_COVARIATES = ("milinst", "formal", "chcap2d", "dinstch2", "origtar1")
#: Allowed levels of each Leeds-Anac covariate.
LA_LEVELS = {
    "milinst": (0, 1, 2),
    "formal": (0, 1, 2),
    "chcap2d": (0, 1),
    "dinstch2": (0, 1),
    "origtar1": (0, 1),
}

# Leeds & Anac number wars with COW v3, Berkemeier-Fuhrmann and the COW war file with v4: the
# complete crosswalk is forecast.calibration.wars.V3_TO_V4 (this name stays for old imports).
LA_WAR_RENUMBER = {k: v for k, v in V3_TO_V4.items() if k != v}


class DataError(Exception):
    """A data file is missing, unreadable or has malformed rows."""


@dataclass(frozen=True)
class Source:
    """One data file: its name, what it is and where to obtain it."""

    filename: str
    description: str
    obtain: str


SOURCES = {
    "leeds_anac": Source(
        "LeedsAnacIIrep.csv",
        "Leeds & Anac (2005) replication data, one row per ally x war case",
        "Leeds & Anac, International Interactions 31(3) 2005; file as redistributed in the public "
        "GitHub repository joshuaalley/treaty-depth (data/leeds-anac-replication/)",
    ),
    "berkemeier_fuhrmann": Source(
        "BerkemeierFuhrmannRAP2018_0303.csv",
        "Berkemeier & Fuhrmann (2018) alliance x war cases, 1816-2003",
        "Berkemeier & Fuhrmann, Research & Politics 5(2) 2018 replication files; also in "
        "joshuaalley/treaty-depth (data/leeds-anac-replication/)",
    ),
    "bf_cases": Source(
        "bf2018_cases_with_members.csv",
        "the performance opportunities of Berkemeier & Fuhrmann (2018) joined to ATOP 5.1 members",
        "derived from BerkemeierFuhrmannRAP2018_0303.csv and atop5_1m.csv (joined by atopid)",
    ),
    "atop_alliances": Source(
        "atop5_1a.csv",
        "ATOP 5.1 alliance-level data (obligation types)",
        "ATOP project (atopdata.org), version 5.1; redistributed in the public GitHub repository "
        "jandresgannon/DoDL (inst/extdata/ATOP/)",
    ),
    "atop_inst": Source(
        "atopinst5_1.csv",
        "ATOP 5.1 Leeds-Anac institutionalization scores per alliance phase",
        "ATOP project (atopdata.org), version 5.1; jandresgannon/DoDL (inst/extdata/ATOP/)",
    ),
    "cow_wars": Source(
        "peacesciencer_cow_war_inter.csv",
        "COW inter-state war data v4 (directed dyad-years), used for war start years",
        "Sarkees & Wayman (2010), Correlates of War project; CSV export of the peacesciencer R "
        "package's cow_war_inter table",
    ),
    "atop_members": Source(
        "atop5_1m.csv",
        "ATOP 5.1 member-level data (which states belong to each alliance)",
        "ATOP project (atopdata.org), version 5.1; jandresgannon/DoDL (inst/extdata/ATOP/)",
    ),
    "cow_majors": Source(
        "peacesciencer_cow_majors.csv",
        "COW major-power spells (State System v2016)",
        "COW Project; CSV export of the peacesciencer R package's cow_majors table",
    ),
    "cow_nmc": Source(
        "peacesciencer_cow_nmc.csv.gz",
        "COW National Material Capabilities v6.0 by state-year (CINC)",
        "Singer, Bremer & Stuckey (1972), NMC v6.0; CSV export of peacesciencer's cow_nmc table",
    ),
    "threat": Source(
        "leeds-savun-threat.csv",
        "Leeds & Savun external-threat score by state-year, 1816-2000",
        "Leeds & Savun (2007), Journal of Politics 69(4); public GitHub repository "
        "joshuaalley/arms-allies (data/)",
    ),
    "rivalries": Source(
        "peacesciencer_td_rivalries.csv",
        "Thompson-Dreyer strategic rivalries",
        "Thompson & Dreyer (2012), Handbook of International Rivalries; CSV export of "
        "peacesciencer's td_rivalries table",
    ),
}

#: The files :func:`load_cases` needs.
REQUIRED = (
    "leeds_anac",
    "berkemeier_fuhrmann",
    "atop_alliances",
    "atop_inst",
    "cow_wars",
    "atop_members",
)
#: The further files the partner- and alliance-level covariates need.
COVARIATE_SOURCES = ("atop_members", "cow_majors", "cow_nmc", "threat", "rivalries")

# Column rules per file: "binary" (0/1), "levels" tuples, "number"; a trailing "?" in the key
# marks a column that may be empty.
_BIN = (0, 1)
_RULES = {
    "leeds_anac": {
        "war": "number",
        "atopid": "number",
        "ccode1": "number",
        "honor3": _BIN,
        "milinst": (0, 1, 2),
        "formal": (0, 1, 2),
        "chcap2d": _BIN,
        "dinstch2": _BIN,
        "origtar1": _BIN,
        "bilat": _BIN,
    },
    "berkemeier_fuhrmann": {
        "sample": _BIN,
        "warid": "number",
        "atopid": "number",
        "cowwarid?": "number",
        "warname": "text",
        "multilateral": _BIN,
        "dnaLLM?": (1,),
        "honorLLM?": (1,),
        "violateLLM?": (1,),
        **{t: _BIN for t in TYPE_COLUMNS},
    },
    "bf_cases": {
        "era": "text",
        "warid": "number",
        "cowwarid?": "number",
        "atopid": "number",
        "multilateral": _BIN,
        "outcome_LLM": ("honored", "violated"),
        **{t: _BIN for t in TYPE_COLUMNS},
    },
    "atop_alliances": {"atopid": "number", "bilat": _BIN, **{t: _BIN for t in TYPE_COLUMNS}},
    # A few alliances have no score: missing there means unknown, and the model marginalises.
    "atop_inst": {
        "atopid": "number",
        "atopidphase": "number",
        "milinst?": (0, 1, 2),
        "formal?": (0, 1, 2),
    },
    "cow_wars": {"warnum": "number", "year": "number", "ccode1": "number"},
    "atop_members": {"atopid": "number", "member": "number"},
    "cow_majors": {"ccode": "number", "styear": "number", "endyear": "number"},
    "cow_nmc": {"ccode": "number", "year": "number", "cinc?": "number"},
    # The file ends with a few rows without a state code; they are dropped on use.
    "threat": {"ccode?": "number", "year": "number", "lsthreat?": "number"},
    "rivalries": {"ccode1": "number", "ccode2": "number", "styear": "number", "endyear": "number"},
}

# Reports list at most this many problems in full, then a count of the rest.
_MAX_LISTED = 25


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the data directory: ``data_dir`` if given, else ``$FORECAST_DATA_DIR``.

    Raises
    ------
    DataError
        If neither is set or the directory does not exist; the message lists the files needed.
    """
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV)
    needed = "; ".join(f"{SOURCES[k].filename} ({SOURCES[k].obtain})" for k in REQUIRED)
    if not data_dir:
        raise DataError(
            f"no data directory: pass data_dir=DIR or set {DATA_DIR_ENV}. It must hold: {needed}"
        )
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise DataError(
            f"data directory {str(path)!r} does not exist (data_dir / "
            f"{DATA_DIR_ENV}). It must hold: {needed}"
        )
    return path


def _format_problems(what: str, problems: list[str]) -> str:
    shown = problems[:_MAX_LISTED]
    more = len(problems) - len(shown)
    tail = f"\n  ... and {more} more" if more > 0 else ""
    return f"{len(problems)} problem(s) in {what}:\n  " + "\n  ".join(shown) + tail


def validate_frame(frame: pd.DataFrame, rules: dict, what: str) -> pd.DataFrame:
    """Check ``frame`` against column ``rules``; return it with numeric columns as floats.

    Every problem is collected and raised once. Line numbers count the header as line 1, so
    they match what an editor shows.

    Raises
    ------
    DataError
        Listing each missing column and each malformed cell (line, column, value, expectation).
    """
    out = frame.copy()
    problems: list[tuple[int, str]] = []
    for key, rule in rules.items():
        optional = key.endswith("?")
        col = key.rstrip("?")
        if col not in frame.columns:
            if optional:
                out[col] = np.nan
            else:
                problems.append((0, f"missing column {col!r}"))
            continue
        raw = frame[col]
        empty = raw.isna() | (raw.astype(str).str.strip() == "")
        if rule == "text":
            values = raw.astype("string")
            bad = empty & (not optional)
            expect = "a non-empty text"
        elif isinstance(rule, tuple) and all(isinstance(v, str) for v in rule):
            values = raw.astype("string")
            bad = (~empty & ~values.isin(rule)) | (empty & (not optional))
            expect = "one of " + ", ".join(rule)
        else:
            values = pd.to_numeric(raw, errors="coerce")
            bad = (~empty & values.isna()) | (empty & (not optional))
            if isinstance(rule, tuple):
                bad |= values.notna() & ~values.isin(rule)
                expect = "one of " + ", ".join(str(v) for v in rule)
            else:
                bad |= values.notna() & ~np.isfinite(values.astype(float))
                expect = "a number"
            values = values.astype(float)
        for idx in np.flatnonzero(bad.to_numpy()):
            shown = "(empty)" if empty.iloc[idx] else repr(raw.iloc[idx])
            problems.append(
                (
                    idx + 2,
                    f"line {idx + 2}: {col} = {shown} (expected {expect}"
                    f"{'' if optional else ', not empty'})",
                )
            )
        out[col] = values
    if problems:
        raise DataError(_format_problems(what, [msg for _, msg in sorted(problems)]))
    return out


def read_source(name: str, data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read and validate one of :data:`SOURCES` by its key.

    Raises
    ------
    DataError
        If the file is missing (naming the file and where to obtain it), unreadable, or has
        malformed rows.
    """
    source = SOURCES[name]
    path = resolve_data_dir(data_dir) / source.filename
    if not path.is_file():
        raise DataError(
            f"{source.filename} not found in {str(path.parent)!r}: it is "
            f"{source.description}. Obtain it from {source.obtain}."
        )
    return read_checked_csv(path, _RULES[name], source.filename)


def read_checked_csv(path: str | os.PathLike, rules: dict, what: str | None = None) -> pd.DataFrame:
    """Read a CSV as strings and validate it with :func:`validate_frame`."""
    what = what or str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=True, compression="infer")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read {what}: {exc}") from exc
    return validate_frame(frame, rules, what)


def load_leeds_anac(data_dir=None) -> pd.DataFrame:
    """Leeds & Anac (2005) cases: one row per ally x war, outcome ``honor3``."""
    return read_source("leeds_anac", data_dir)


def load_berkemeier_fuhrmann(data_dir=None) -> pd.DataFrame:
    """Berkemeier & Fuhrmann (2018) alliance x war rows, including non-cases (``dnaLLM``).

    Raises
    ------
    DataError
        Also for rows coded both honoured and violated, or a performance opportunity with
        neither outcome.
    """
    bf = read_source("berkemeier_fuhrmann", data_dir)
    _check_bf_outcomes(bf, SOURCES["berkemeier_fuhrmann"].filename, require_outcome=True)
    return bf


def _check_bf_outcomes(bf: pd.DataFrame, what: str, require_outcome: bool) -> None:
    honor = bf["honorLLM"].fillna(0) if "honorLLM" in bf else pd.Series(0.0, index=bf.index)
    violate = bf["violateLLM"].fillna(0) if "violateLLM" in bf else honor * 0
    case = bf["dnaLLM"].isna()
    both = case & (honor == 1) & (violate == 1)
    problems = [f"line {i + 2}: honorLLM and violateLLM are both 1" for i in np.flatnonzero(both)]
    if require_outcome:
        neither = case & (honor == 0) & (violate == 0)
        problems += [
            f"line {i + 2}: dnaLLM is empty (a case) but neither honorLLM nor violateLLM is 1"
            for i in np.flatnonzero(neither)
        ]
    if problems:
        raise DataError(_format_problems(what, problems))


def load_bf_cases(data_dir=None) -> pd.DataFrame:
    """Berkemeier-Fuhrmann performance opportunities joined to ATOP 5.1 members."""
    return read_source("bf_cases", data_dir)


def load_atop_alliances(data_dir=None) -> pd.DataFrame:
    """ATOP 5.1 alliance-level obligations, one row per ``atopid``."""
    rules = _RULES["atop_alliances"] | {
        "conditio?": _BIN,
        "specthrt?": "number",
        "milcon?": "number",
    }
    path = resolve_data_dir(data_dir) / SOURCES["atop_alliances"].filename
    if not path.is_file():
        read_source("atop_alliances", data_dir)  # raises the file-not-found message
    atop = read_checked_csv(path, rules, SOURCES["atop_alliances"].filename)
    return atop.drop_duplicates("atopid").set_index("atopid")


def load_atop_institutionalization(data_dir=None) -> pd.DataFrame:
    """ATOP 5.1 Leeds-Anac institutionalization scores, one row per ``atopid``.

    An alliance with several phases keeps its first phase: the scores rarely change between
    phases (they agree with the Leeds-Anac file on 96% / 99% of its cases).
    """
    inst = read_source("atop_inst", data_dir)
    return inst.sort_values("atopidphase").drop_duplicates("atopid").set_index("atopid")


def load_war_start_years(data_dir=None) -> pd.Series:
    """First year of each COW inter-state war, indexed by COW war number."""
    wars = read_source("cow_wars", data_dir)
    return wars.groupby("warnum")["year"].min()


__all__ = [
    "COVARIATE_SOURCES",
    "DATA_DIR_ENV",
    "LA_COVARIATES",
    "LA_LEVELS",
    "REQUIRED",
    "SOURCES",
    "TYPE_COLUMNS",
    "DataError",
    "read_checked_csv",
    "read_source",
    "resolve_data_dir",
    "validate_frame",
]
