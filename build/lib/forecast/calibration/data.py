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

# Leeds & Anac numbered wars with COW v3; COW v4 (used by Berkemeier-Fuhrmann and the COW war
# file) renumbered the 1956 Soviet invasion of Hungary from 154 to 156. Same members (USSR,
# Hungary) and the same ATOP alliances (2170, 3110, 3120, 3285) appear under both numbers.
LA_WAR_RENUMBER = {154: 156}


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
        "derived from BerkemeierFuhrmannRAP2018_0303.csv and atop5_1m.csv (see shared/data/README)",
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
}

#: The files :func:`load_cases` needs.
REQUIRED = ("leeds_anac", "berkemeier_fuhrmann", "atop_alliances", "atop_inst", "cow_wars")

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
    "cow_wars": {"warnum": "number", "year": "number"},
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
    atop = read_source("atop_alliances", data_dir)
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


# ---------------------------------------------------------------------------------------------
# One table of cases for the model
# ---------------------------------------------------------------------------------------------

#: Columns of a case table, as produced by :func:`cases_from_la`, :func:`cases_from_bf` and
#: :func:`load_cases`. LA covariates are NaN where unknown; ``y`` is NaN where there is no outcome.
CASE_COLUMNS = (
    "war",
    "war_name",
    "atopid",
    "post1945",
    *TYPE_COLUMNS,
    "multilateral",
    *LA_COVARIATES,
    "source",
    "y",
)


@dataclass
class Tables:
    """The validated files a case table is assembled from."""

    la: pd.DataFrame
    bf: pd.DataFrame
    atop: pd.DataFrame
    inst: pd.DataFrame
    years: pd.Series


def load_tables(data_dir=None) -> Tables:
    """Load and validate every file the model needs (all problems of a file at once)."""
    return Tables(
        la=load_leeds_anac(data_dir),
        bf=load_berkemeier_fuhrmann(data_dir),
        atop=load_atop_alliances(data_dir),
        inst=load_atop_institutionalization(data_dir),
        years=load_war_start_years(data_dir),
    )


def _war_key_bf(bf: pd.DataFrame) -> pd.Series:
    # A few IWD wars have no COW number; they get their own namespace so they never collide.
    cow = bf["cowwarid"]
    return pd.Series(
        np.where(
            cow.notna(),
            "cow" + cow.fillna(0).astype(int).astype(str),
            "iwd" + bf["warid"].astype(int).astype(str),
        ),
        index=bf.index,
    )


def _war_key_la(la: pd.DataFrame) -> pd.Series:
    number = la["war"].astype(int).replace(LA_WAR_RENUMBER)
    return "cow" + number.astype(str)


def _bf_performance(bf: pd.DataFrame) -> pd.DataFrame:
    """BF rows that are performance opportunities, indexed by (atopid, war key)."""
    rel = bf[bf["dnaLLM"].isna()].copy()
    rel["war"] = _war_key_bf(rel)
    return rel.drop_duplicates(["atopid", "war"]).set_index(["atopid", "war"])


def cases_from_la(la: pd.DataFrame, tables: Tables, what: str = "Leeds-Anac rows") -> pd.DataFrame:
    """Complete Leeds-Anac rows with era, commitment type and multilateral.

    Era and type come from the matching Berkemeier-Fuhrmann case (same ATOP alliance and war)
    when there is one, else from the COW war start year and ATOP 5.1 obligations.

    Returns
    -------
    pandas.DataFrame
        :data:`CASE_COLUMNS`, one row per input row, same index; ``source`` is ``"both"`` for
        rows that are also a Berkemeier-Fuhrmann case, else ``"LA"``.

    Raises
    ------
    DataError
        Listing rows whose war year or alliance cannot be found.
    """
    out = pd.DataFrame(index=la.index)
    out["war"] = _war_key_la(la)
    out["atopid"] = la["atopid"].astype(int)
    bf_rel = _bf_performance(tables.bf)
    keys = pd.MultiIndex.from_arrays([out["atopid"], out["war"]])
    matched = keys.isin(bf_rel.index)
    match = bf_rel.reindex(keys)
    war_number = out["war"].str[3:].astype(int)
    year = war_number.map(tables.years)
    atop = tables.atop.reindex(out["atopid"])
    problems = []
    for pos in np.flatnonzero(~matched & year.isna().to_numpy()):
        problems.append(
            f"line {pos + 2}: war = {war_number.iloc[pos]} has no start year in "
            f"{SOURCES['cow_wars'].filename}"
        )
    for pos in np.flatnonzero(~matched & atop["defense"].isna().to_numpy()):
        problems.append(
            f"line {pos + 2}: atopid = {out['atopid'].iloc[pos]} is not in "
            f"{SOURCES['atop_alliances'].filename}"
        )
    if problems:
        raise DataError(_format_problems(what, problems))
    out["war_name"] = np.where(
        matched, match["warname"].to_numpy(), "COW war " + war_number.astype(str)
    )
    out["post1945"] = np.where(
        matched, 1.0 - match["sample"].to_numpy(), (year >= 1945).astype(float).to_numpy()
    )
    for t in TYPE_COLUMNS:
        out[t] = np.where(matched, match[t].to_numpy(), atop[t].to_numpy())
    out["multilateral"] = 1.0 - la["bilat"]
    for c in LA_COVARIATES:
        out[c] = la[c].astype(float)
    out["source"] = np.where(matched, "both", "LA")
    out["y"] = la["honor3"].astype(float) if "honor3" in la else np.nan
    return out[list(CASE_COLUMNS)]


def cases_from_bf(bf: pd.DataFrame, tables: Tables) -> pd.DataFrame:
    """Complete Berkemeier-Fuhrmann rows with the Leeds-Anac covariates that are knowable.

    ``milinst`` and ``formal`` come from the matching Leeds-Anac case, else from ATOP 5.1's
    institutionalization scores; ``chcap2d``, ``dinstch2`` and ``origtar1`` only from a matching
    Leeds-Anac case (else NaN: the model marginalises over them).

    Returns
    -------
    pandas.DataFrame
        :data:`CASE_COLUMNS` plus ``is_case`` (False for ``dnaLLM == 1``), same index as ``bf``.
    """
    out = pd.DataFrame(index=bf.index)
    out["war"] = _war_key_bf(bf)
    out["atopid"] = bf["atopid"].astype(int)
    out["war_name"] = bf["warname"].astype(str)
    out["post1945"] = 1.0 - bf["sample"]
    for t in TYPE_COLUMNS:
        out[t] = bf[t].astype(float)
    out["multilateral"] = bf["multilateral"].astype(float)
    la = tables.la.assign(war=_war_key_la(tables.la), atopid=tables.la["atopid"].astype(int))
    la = la.drop_duplicates(["atopid", "war"]).set_index(["atopid", "war"])
    keys = pd.MultiIndex.from_arrays([out["atopid"], out["war"]])
    match = la.reindex(keys)
    inst = tables.inst.reindex(out["atopid"])
    for c in LA_COVARIATES:
        known = match[c].to_numpy()
        if c in ("milinst", "formal"):
            known = np.where(np.isnan(known), inst[c].to_numpy(), known)
        out[c] = known
    out["source"] = "BF"
    honor = bf["honorLLM"].fillna(0) if "honorLLM" in bf else 0.0
    violate = bf["violateLLM"].fillna(0) if "violateLLM" in bf else 0.0
    out["y"] = np.where(honor == 1, 1.0, np.where(violate == 1, 0.0, np.nan))
    out["is_case"] = bf["dnaLLM"].isna() if "dnaLLM" in bf else True
    return out[[*CASE_COLUMNS, "is_case"]]


def load_cases(data_dir=None) -> tuple[pd.DataFrame, dict]:
    """One table of cases from both datasets, each ally x war event counted once.

    Leeds-Anac rows are kept whole (outcome ``honor3``, their own covariates). A
    Berkemeier-Fuhrmann performance opportunity for the same ATOP alliance and war is the same
    event coded twice, so it is dropped and only lends its era and type coding; the remaining
    Berkemeier-Fuhrmann cases (outcome ``honorLLM``) are added.

    Returns
    -------
    cases : pandas.DataFrame
        :data:`CASE_COLUMNS`, index ``case`` as ``"LA:<row>"`` / ``"BF:<row>"`` (file row order).
    report : dict
        Counts: rows read, non-cases excluded, overlapping events, outcome disagreements on the
        overlap, cases, wars.
    """
    tables = load_tables(data_dir)
    la = cases_from_la(tables.la, tables, SOURCES["leeds_anac"].filename)
    la.index = [f"LA:{i}" for i in range(len(la))]
    bf_all = cases_from_bf(tables.bf, tables)
    bf_all.index = [f"BF:{i}" for i in range(len(bf_all))]
    bf_cases = bf_all[bf_all["is_case"]]
    la_keys = set(zip(la["atopid"], la["war"], strict=True))
    overlap = np.array(
        [k in la_keys for k in zip(bf_cases["atopid"], bf_cases["war"], strict=True)], bool
    )
    la_y = la.set_index(["atopid", "war"])["y"]
    over = bf_cases[overlap]
    disagree = int(
        (
            la_y.reindex(list(zip(over["atopid"], over["war"], strict=True))).to_numpy()
            != over["y"].to_numpy()
        ).sum()
    )
    cases = pd.concat([la, bf_cases.loc[~overlap, list(CASE_COLUMNS)]])
    cases.index.name = "case"
    report = {
        "n_leeds_anac_rows": len(la),
        "n_bf_rows": len(bf_all),
        "n_bf_not_a_case": int((~bf_all["is_case"]).sum()),
        "n_bf_cases": len(bf_cases),
        "n_overlap_events": int(overlap.sum()),
        "n_overlap_outcome_disagreements": disagree,
        "n_cases": len(cases),
        "n_wars": int(cases["war"].nunique()),
    }
    return cases, report


#: Columns that identify each predict-file format.
_LA_SIGNATURE = {"war", "atopid", "bilat", *LA_COVARIATES}
_BF_SIGNATURE = {"sample", "warid", "atopid", "dnaLLM", "multilateral", *TYPE_COLUMNS}


def read_case_file(path: str | os.PathLike, tables: Tables) -> pd.DataFrame:
    """Read a file in either format (Leeds-Anac or Berkemeier-Fuhrmann) as a case table.

    Outcome columns are optional here. Returns :data:`CASE_COLUMNS` plus ``is_case``, one row
    per file row in file order.

    Raises
    ------
    DataError
        If the file is missing or unreadable, matches neither format, or has malformed rows.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"predict file {str(path)!r} does not exist")
    try:
        header = set(pd.read_csv(path, nrows=0).columns)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read predict file {str(path)!r}: {exc}") from exc

    def relaxed(rules: dict, outcomes: tuple[str, ...]) -> dict:
        return {(k + "?" if k in outcomes else k): v for k, v in rules.items()}

    if _BF_SIGNATURE <= header:
        bf = read_checked_csv(path, relaxed(_RULES["berkemeier_fuhrmann"], ()), str(path))
        _check_bf_outcomes(bf, str(path), require_outcome=False)
        return cases_from_bf(bf, tables)
    if _LA_SIGNATURE <= header:
        la = read_checked_csv(path, relaxed(_RULES["leeds_anac"], ("honor3",)), str(path))
        out = cases_from_la(la, tables, str(path))
        out["is_case"] = True
        return out
    raise DataError(
        f"predict file {str(path)!r} is in neither known format: a Leeds-Anac file needs columns "
        f"{sorted(_LA_SIGNATURE)}, a Berkemeier-Fuhrmann file {sorted(_BF_SIGNATURE)}; "
        f"it has {sorted(header)}"
    )
