"""One table of cases from the validated files: the rows the model is fitted on and predicts.

Every row of both datasets is kept in its own outcome coding (``source`` "LA" or "BF"). A
Berkemeier-Fuhrmann case for the same ATOP alliance and war as a Leeds-Anac row is the same
event coded twice; both codings stay in the table (``event`` links them), because the pair is
what tells the model how the two codings differ.

Depends on numpy and pandas only (and :mod:`forecast.calibration.data` for the files).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.calibration import data as _d
from forecast.calibration.wars import ERA_BOUNDARY_YEAR, v4_number

#: Columns of a case table, as produced by :func:`cases_from_la`, :func:`cases_from_bf` and
#: :func:`load_cases`. LA covariates are NaN where unknown; ``y`` is NaN where there is no
#: outcome; ``post1945`` and ``year`` are NaN where the war's date is unknown; ``partners`` are
#: the ';'-joined COW codes of the states whose choice the row records (the ally of a
#: Leeds-Anac row, the members of a Berkemeier-Fuhrmann alliance).
CASE_COLUMNS = (
    "war",
    "war_name",
    "atopid",
    "event",
    "year",
    "post1945",
    *_d.TYPE_COLUMNS,
    "multilateral",
    *_d.LA_COVARIATES,
    "partners",
    "source",
    "y",
)

#: Accepted values of an optional ``era`` column in a predict file.
ERA_VALUES = {
    "pre1945": 0.0,
    "1816-1944": 0.0,
    "0": 0.0,
    "post1945": 1.0,
    "1945-2003": 1.0,
    "1": 1.0,
}


@dataclass
class Tables:
    """The validated files a case table is assembled from.

    ``members`` maps ATOP id -> member COW codes; ``participants`` COW v4 war number -> the
    COW codes that fought in it.
    """

    la: pd.DataFrame
    bf: pd.DataFrame
    atop: pd.DataFrame
    inst: pd.DataFrame
    years: pd.Series
    members: dict | None = None
    participants: dict | None = None


def load_tables(data_dir=None) -> Tables:
    """Load and validate every file the model needs (all problems of a file at once)."""
    la = _d.load_leeds_anac(data_dir)
    bf = _d.load_berkemeier_fuhrmann(data_dir)
    atop = _d.load_atop_alliances(data_dir)
    inst = _d.load_atop_institutionalization(data_dir)
    wars = _d.read_source("cow_wars", data_dir)
    members = _d.read_source("atop_members", data_dir)
    return Tables(
        la=la,
        bf=bf,
        atop=atop,
        inst=inst,
        years=wars.groupby("warnum")["year"].min(),
        members=_sets(members, "atopid", "member"),
        participants=_sets(wars, "warnum", "ccode1"),
    )


def _sets(frame: pd.DataFrame, key: str, value: str) -> dict[int, list[int]]:
    """{key: sorted distinct values} of two numeric columns, as ints."""
    groups = frame.groupby(frame[key].astype(int))[value]
    return {int(k): sorted(set(v.astype(int))) for k, v in groups}


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
    """``cow<v4>`` where the crosswalk knows the v3 number, else ``cow3_<v3>``."""
    v4 = la["war"].astype(int).map(lambda n: v4_number(n))
    v3 = la["war"].astype(int).astype(str)
    return pd.Series(
        np.where(v4.notna(), "cow" + v4.fillna(0).astype(int).astype(str), "cow3_" + v3),
        index=la.index,
    )


def _bf_performance(bf: pd.DataFrame) -> pd.DataFrame:
    """BF rows that are performance opportunities, indexed by (atopid, war key)."""
    rel = bf[bf["dnaLLM"].isna()].copy()
    rel["war"] = _war_key_bf(rel)
    return rel.drop_duplicates(["atopid", "war"]).set_index(["atopid", "war"])


def _era_from_file(la: pd.DataFrame, what: str) -> tuple[pd.Series, pd.Series]:
    """``year`` and ``post1945`` given by optional columns of a predict file (NaN where not)."""
    year = pd.Series(np.nan, index=la.index)
    era = pd.Series(np.nan, index=la.index)
    problems = []
    if "year" in la:
        raw = la["year"]
        num = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & (num.isna() | (num < 1816) | (num > 2100))
        problems += [
            f"line {i + 2}: year = {raw.iloc[i]!r} (expected a year 1816-2100, or empty)"
            for i in np.flatnonzero(bad.to_numpy())
        ]
        year = num.where(~bad)
        era = (year >= ERA_BOUNDARY_YEAR).astype(float).where(year.notna())
    if "era" in la:
        raw = la["era"]
        text = raw.astype("string").str.strip().str.removesuffix(".0")
        coded = text.map(ERA_VALUES)
        bad = raw.notna() & coded.isna()
        problems += [
            f"line {i + 2}: era = {raw.iloc[i]!r} (expected one of {', '.join(ERA_VALUES)}, "
            "or empty)"
            for i in np.flatnonzero(bad.to_numpy())
        ]
        clash = coded.notna() & era.notna() & (coded != era)
        problems += [
            f"line {i + 2}: era = {raw.iloc[i]!r} contradicts year = {year.iloc[i]:.0f}"
            for i in np.flatnonzero(clash.to_numpy())
        ]
        era = era.fillna(coded.astype(float))
    if problems:
        raise _d.DataError(_d._format_problems(what, problems))
    return year, era


def cases_from_la(la: pd.DataFrame, tables: Tables, what: str = "Leeds-Anac rows") -> pd.DataFrame:
    """Complete Leeds-Anac rows with era, commitment type and multilateral.

    Era and type come from the matching Berkemeier-Fuhrmann case (same ATOP alliance and war)
    when there is one, else from the file's ``year`` / ``era`` column, else from the COW v4 start
    year of the war (through :data:`forecast.calibration.wars.V3_TO_V4`), and ATOP 5.1
    obligations. A row whose era stays unknown gets ``post1945 = NaN`` (the predictive code
    marginalises over it) and a line in ``attrs["warnings"]``.

    Returns
    -------
    pandas.DataFrame
        :data:`CASE_COLUMNS`, one row per input row, same index; ``source`` is ``"LA"``.

    Raises
    ------
    DataError
        Listing rows whose alliance is not in ATOP, or whose ``year`` / ``era`` is malformed.
    """
    out = pd.DataFrame(index=la.index)
    out["war"] = _war_key_la(la)
    out["atopid"] = la["atopid"].astype(int)
    bf_rel = _bf_performance(tables.bf)
    keys = pd.MultiIndex.from_arrays([out["atopid"], out["war"]])
    matched = keys.isin(bf_rel.index)
    match = bf_rel.reindex(keys)
    v3 = la["war"].astype(int)
    v4 = v3.map(lambda n: v4_number(n))
    cow_year = v4.map(tables.years)
    file_year, file_era = _era_from_file(la, what)
    year = file_year.fillna(cow_year)
    era = file_era.fillna((cow_year >= ERA_BOUNDARY_YEAR).astype(float).where(cow_year.notna()))
    era = pd.Series(np.where(matched, 1.0 - match["sample"].to_numpy(), era), index=la.index)
    atop = tables.atop.reindex(out["atopid"])
    problems = [
        f"line {pos + 2}: atopid = {out['atopid'].iloc[pos]} is not in "
        f"{_d.SOURCES['atop_alliances'].filename}"
        for pos in np.flatnonzero(~matched & atop["defense"].isna().to_numpy())
    ]
    if problems:
        raise _d.DataError(_d._format_problems(what, problems))
    warnings = [
        f"line {pos + 2}: war = {v3.iloc[pos]} (COW v3) is not in the COW v3 -> v4 crosswalk "
        "and the row has no year or era: predicted by marginalising over the era"
        for pos in np.flatnonzero(era.isna().to_numpy())
    ]
    out["war_name"] = np.where(matched, match["warname"].to_numpy(), "COW v3 war " + v3.astype(str))
    out["event"] = out["atopid"].astype(str) + ":" + out["war"]
    out["year"] = year.to_numpy(float)
    out["post1945"] = era.to_numpy(float)
    for t in _d.TYPE_COLUMNS:
        out[t] = np.where(matched, match[t].to_numpy(), atop[t].to_numpy())
    out["multilateral"] = 1.0 - la["bilat"]
    for c in _d.LA_COVARIATES:
        out[c] = la[c].astype(float)
    out["partners"] = la["ccode1"].astype(int).astype(str)
    out["source"] = "LA"
    out["y"] = la["honor3"].astype(float) if "honor3" in la else np.nan
    out = out[list(CASE_COLUMNS)]
    out.attrs["warnings"] = warnings
    return out


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
    out["event"] = out["atopid"].astype(str) + ":" + out["war"]
    out["year"] = bf["cowwarid"].map(tables.years).to_numpy(float)
    out["post1945"] = 1.0 - bf["sample"]
    for t in _d.TYPE_COLUMNS:
        out[t] = bf[t].astype(float)
    out["multilateral"] = bf["multilateral"].astype(float)
    la = tables.la.assign(war=_war_key_la(tables.la), atopid=tables.la["atopid"].astype(int))
    la = la.drop_duplicates(["atopid", "war"]).set_index(["atopid", "war"])
    keys = pd.MultiIndex.from_arrays([out["atopid"], out["war"]])
    match = la.reindex(keys)
    inst = tables.inst.reindex(out["atopid"])
    for c in _d.LA_COVARIATES:
        known = match[c].to_numpy()
        if c in ("milinst", "formal"):
            known = np.where(np.isnan(known), inst[c].to_numpy(), known)
        out[c] = known
    members = tables.members if tables.members is not None else {}
    out["partners"] = [";".join(map(str, members.get(a, []))) for a in out["atopid"]]
    out["source"] = "BF"
    honor = bf["honorLLM"].fillna(0) if "honorLLM" in bf else 0.0
    violate = bf["violateLLM"].fillna(0) if "violateLLM" in bf else 0.0
    out["y"] = np.where(honor == 1, 1.0, np.where(violate == 1, 0.0, np.nan))
    out["is_case"] = bf["dnaLLM"].isna() if "dnaLLM" in bf else True
    out = out[[*CASE_COLUMNS, "is_case"]]
    out.attrs["warnings"] = []
    return out


def load_cases(data_dir=None) -> tuple[pd.DataFrame, dict]:
    """Every case of both datasets, each in its own outcome coding.

    Leeds-Anac rows keep outcome ``honor3``; Berkemeier-Fuhrmann performance opportunities keep
    ``honorLLM``. An event coded by both (same ATOP alliance and war) appears twice, once per
    coding, with the same ``event`` key; cross-validation folds group by war, so the two rows of
    an event are always on the same side of a split.

    Returns
    -------
    cases : pandas.DataFrame
        :data:`CASE_COLUMNS`, index ``case`` as ``"LA:<row>"`` / ``"BF:<row>"`` (file row order).
    report : dict
        Counts: rows read, non-cases excluded, events coded by both, outcome disagreements
        among them, cases, events, wars.
    """
    tables = load_tables(data_dir)
    la = cases_from_la(tables.la, tables, _d.SOURCES["leeds_anac"].filename)
    la.index = [f"LA:{i}" for i in range(len(la))]
    bf_all = cases_from_bf(tables.bf, tables)
    bf_all.index = [f"BF:{i}" for i in range(len(bf_all))]
    bf_cases = bf_all[bf_all["is_case"]]
    both = bf_cases["event"].isin(set(la["event"]))
    la_y = la.drop_duplicates("event").set_index("event")["y"]
    over = bf_cases[both]
    disagree = int((la_y.reindex(over["event"]).to_numpy() != over["y"].to_numpy()).sum())
    cases = pd.concat([la, bf_cases[list(CASE_COLUMNS)]])
    cases.index.name = "case"
    report = {
        "n_leeds_anac_rows": len(la),
        "n_bf_rows": len(bf_all),
        "n_bf_not_a_case": int((~bf_all["is_case"]).sum()),
        "n_bf_cases": len(bf_cases),
        "n_overlap_events": int(both.sum()),
        "n_overlap_outcome_disagreements": disagree,
        "n_cases": len(cases),
        "n_events": int(cases["event"].nunique()),
        "n_wars": int(cases["war"].nunique()),
    }
    return cases, report


#: Columns that identify each predict-file format.
_LA_SIGNATURE = {"war", "atopid", "bilat", *_d.LA_COVARIATES}
_BF_SIGNATURE = {"sample", "warid", "atopid", "dnaLLM", "multilateral", *_d.TYPE_COLUMNS}


def read_case_file(path: str | os.PathLike, tables: Tables) -> pd.DataFrame:
    """Read a file in either format (Leeds-Anac or Berkemeier-Fuhrmann) as a case table.

    Outcome columns are optional here; a Leeds-Anac file may add ``year`` or ``era``. Returns
    :data:`CASE_COLUMNS` plus ``is_case``, one row per file row in file order; ``source`` names
    the file's outcome coding and ``attrs["warnings"]`` lists rows predicted with an unknown era.

    Raises
    ------
    DataError
        If the file is missing or unreadable, matches neither format, or has malformed rows.
    """
    path = Path(path)
    if not path.is_file():
        raise _d.DataError(f"predict file {str(path)!r} does not exist")
    try:
        header = set(pd.read_csv(path, nrows=0).columns)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _d.DataError(f"cannot read predict file {str(path)!r}: {exc}") from exc

    def relaxed(rules: dict, outcomes: tuple[str, ...]) -> dict:
        return {(k + "?" if k in outcomes else k): v for k, v in rules.items()}

    if _BF_SIGNATURE <= header:
        bf = _d.read_checked_csv(path, relaxed(_d._RULES["berkemeier_fuhrmann"], ()), str(path))
        _d._check_bf_outcomes(bf, str(path), require_outcome=False)
        return cases_from_bf(bf, tables)
    if _LA_SIGNATURE <= header:
        la = _d.read_checked_csv(path, relaxed(_d._RULES["leeds_anac"], ("honor3",)), str(path))
        for col in ("year", "era"):
            if col in la:
                la[col] = la[col].where(la[col].astype("string").str.strip() != "")
        out = cases_from_la(la, tables, str(path))
        out["is_case"] = True
        return out
    raise _d.DataError(
        f"predict file {str(path)!r} is in neither known format: a Leeds-Anac file needs columns "
        f"{sorted(_LA_SIGNATURE)}, a Berkemeier-Fuhrmann file {sorted(_BF_SIGNATURE)}; "
        f"it has {sorted(header)}"
    )
