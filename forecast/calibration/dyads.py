"""Directed dyad-years for the initiation model: load, validate and join the files.

One row per ordered pair of system members (A, B) and year, from the COW directed dyad-year
universe, with the outcome ``y`` (A initiated a militarised dispute against B that year: a new
MID in which A is an originator on side A and B an originator on side B; several in one year
count once) and the covariates of :data:`COVARIATES`.

Every file is read by :func:`read_numeric`: a fast numeric parse, and on any problem the
line-by-line check of :func:`forecast.calibration.data.validate_frame`, so a malformed row is
reported with its line, column and value. A missing file is named with what it is and where to
obtain it.

Years beyond a file's coverage take that file's last covered year (its last known state), and
peace years keep counting through the years the dispute data do not cover; see
:data:`COVERAGE_NOTE`.

Depends on numpy and pandas only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.calibration.data import DataError, _format_problems, read_checked_csv
from forecast.calibration.dyad_files import (  # noqa: F401  (re-exported)
    SOURCES,
    DyadTables,
    load_dyad_tables,
    read_numeric,
)
from forecast.calibration.dyad_keys import (
    _clip,
    _key,
    _lookup,
    _major,
    _spell_years,
    _undirected,
)
from forecast.calibration.target_pacts import (  # noqa: F401  (re-exported)
    _applicable,
    _pacts,
    member_years,
    target_alliances,
)

#: Covariates of the initiation model, in the order of its ``covariate`` dim.
COVARIATES = (
    "def_applies",  # B holds a third state's defence promise that applies to A (_applicable)
    "def_applies_major",  # ... a promise of a major power
    "def_applies_contingent",  # ... a promise contingent on B not provoking (ATOP defconpr)
    "def_shared",  # A and B are bound by a defence pact
    "off_a",  # A has an offensive pact with a third state
    "cap_ratio",  # log(CINC_A / CINC_B)
    "cap_parity",  # -|log(CINC_A / CINC_B)|: near 0 at parity
    "contig_land",  # direct land contiguity
    "contig_sea",  # contiguity across up to 400 miles of water (COW types 2-5)
    "log_dist",  # log(1 + minimum distance / 100 km)
    "major_a",
    "major_b",
    "rivalry",  # a Thompson-Dreyer strategic rivalry is under way
    "post1945",
    "peace1",  # peace years / 25, and its square and cube (Carter & Signorino 2010)
    "peace2",
    "peace3",
)
#: Columns of the joined frame that are not covariates: the target's pacts counted without
#: asking whether they apply to the challenger (the model's covariates before the coding of
#: :func:`_applicable`; kept for reading and comparison).
ASSOCIATION_PACTS = (
    "def_any",  # B has a defence pact with a third state (not A)
    "def_major",  # ... with a third state that is a major power
    "def_contingent",  # another member of one of B's alliances has a conditional obligation
)
#: COW region of a state code: 0 Americas, 1 Europe, 2 Africa, 3 Middle East, 4 Asia-Oceania.
REGIONS = ("americas", "europe", "africa", "middle_east", "asia_oceania")
_REGION_EDGES = np.array([200, 400, 630, 700])
PEACE_SCALE = 25.0
COVERAGE_NOTE = (
    "years beyond a file's coverage take that file's last covered year; peace years keep "
    "counting (no dispute is assumed where the dispute data end)"
)


def region_of(ccode: np.ndarray) -> np.ndarray:
    """COW region index (into :data:`REGIONS`) of each state code, shape as ``ccode``."""
    return np.searchsorted(_REGION_EDGES, np.asarray(ccode), side="right")


def _outcome(t: DyadTables, c1, c2, year) -> np.ndarray:
    """1 where A initiated a MID against B in the year (originators on both sides), else 0;
    NaN after the dispute data end."""
    d = t.dirdisp
    start = (d["midonset"] == 1) & (d["sidea1"] == 1) & (d["orig1"] == 1) & (d["orig2"] == 1)
    events = np.unique(_key(d.loc[start, "ccode1"], d.loc[start, "ccode2"], d.loc[start, "year"]))
    y = np.isin(_key(c1, c2, year), events).astype(float)
    y[year > t.coverage()["dirdisp"]] = np.nan
    return y


def _peace_years(t: DyadTables, c1, c2, year) -> np.ndarray:
    """Years since the pair's last MID onset (either side, any role) before ``year``; since
    the pair's first year in the system (or 1816) when it had none."""
    d = t.dirdisp[t.dirdisp["midonset"] == 1]
    onsets = np.unique(_undirected(d["ccode1"], d["ccode2"], d["year"]))
    pair = _undirected(c1, c2)
    query = pair * 10000 + year
    pos = np.searchsorted(onsets, query, side="left") - 1
    found = onsets[np.maximum(pos, 0)]
    has = (pos >= 0) & (found // 10000 == pair)
    last = np.where(has, found % 10000, -1)
    u = t.ddy
    first = pd.Series(u["year"].to_numpy()).groupby(_undirected(u["ccode1"], u["ccode2"])).min()
    start = first.reindex(pair).fillna(1816).to_numpy()
    return np.where(has, year - last - 1, year - start).clip(0).astype(float)


def _rivalry(t: DyadTables, c1, c2, year) -> np.ndarray:
    r = t.rivalries
    last = t.coverage()["rivalries"]
    rep, years = _spell_years(r.index.to_numpy(), r["styear"], r["endyear"].fillna(last))
    keys = _undirected(r["ccode1"].to_numpy()[rep], r["ccode2"].to_numpy()[rep], years)
    return np.isin(_undirected(c1, c2, _clip(year, last)), keys).astype(float)


def _contiguity(t: DyadTables, c1, c2, year) -> np.ndarray:
    """Closest COW contiguity type (1 land ... 5 up to 400 miles of water), 9 for none."""
    c = t.contdir[t.contdir["conttype"].between(1, 5)]
    rep, years = _spell_years(c.index.to_numpy(), c["styear"], c["endyear"])
    keys = _undirected(c["ccode1"].to_numpy()[rep], c["ccode2"].to_numpy()[rep], years)
    kind = pd.Series(c["conttype"].to_numpy()[rep]).groupby(keys).min()
    last = t.coverage()["contdir"]
    q = _undirected(c1, c2, _clip(year, last))
    return _lookup(q, kind.index.to_numpy(), kind.to_numpy(), 9.0)


def _distance(t: DyadTables, c1, c2, year, contiguity) -> tuple[np.ndarray, int]:
    """Minimum distance in km; the pair's median where its year is not covered (before 1886);
    0 for land neighbours and the overall median where the pair never appears."""
    m = t.mindist
    keys = _undirected(m["ccode1"], m["ccode2"], m["year"])
    last = t.coverage()["mindist"]
    out = _lookup(_undirected(c1, c2, _clip(year, last)), keys, m["mindist"].to_numpy(), np.nan)
    miss = np.isnan(out)
    pair_median = pd.Series(m["mindist"].to_numpy()).groupby(keys // 10000).median()
    out[miss] = _lookup(
        _undirected(c1[miss], c2[miss]),
        pair_median.index.to_numpy(),
        pair_median.to_numpy(),
        np.nan,
    )
    miss = np.isnan(out)
    out[miss] = np.where(contiguity[miss] == 1, 0.0, float(m["mindist"].median()))
    return out, int(miss.sum())


def _cinc(t: DyadTables, ccode, year) -> tuple[np.ndarray, int]:
    """CINC score, floored at 1e-6; the state's mean CINC where its year is missing."""
    n = t.nmc.dropna(subset=["cinc"])
    last = t.coverage()["nmc"]
    out = _lookup(
        _key(ccode, 0, _clip(year, last)),
        _key(n["ccode"], 0, n["year"]),
        n["cinc"].to_numpy(),
        np.nan,
    )
    miss = np.isnan(out)
    mean = n.groupby("ccode")["cinc"].mean()
    out[miss] = mean.reindex(np.asarray(ccode)[miss]).to_numpy()
    still = np.isnan(out)
    out[still] = float(n["cinc"].median())
    return np.maximum(out, 1e-6), int(miss.sum())


def dyad_years(t: DyadTables, rows: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Join outcome and covariates onto directed dyad-years.

    Parameters
    ----------
    t : the loaded files
    rows : optional frame with integer columns ``ccode1, ccode2, year`` (default: the whole
        COW universe of directed dyad-years)

    Returns
    -------
    frame : pandas.DataFrame
        One row per input row (same order): ``ccode1, ccode2, year, dyad`` (undirected key),
        ``region_a, region_b`` (indices into :data:`REGIONS`), ``prd`` (politically relevant:
        contiguous up to 150 miles of water or a major power on either side), ``y`` (NaN after
        the dispute data end), :data:`COVARIATES` and :data:`ASSOCIATION_PACTS`.
    report : dict
        Counts of rows, events and of values filled in where a file had none.
    """
    base = t.ddy if rows is None else rows
    c1 = base["ccode1"].to_numpy(np.int64)
    c2 = base["ccode2"].to_numpy(np.int64)
    year = base["year"].to_numpy(np.int64)
    out = pd.DataFrame({"ccode1": c1, "ccode2": c2, "year": year})
    out["dyad"] = _undirected(c1, c2)
    out["region_a"] = region_of(c1)
    out["region_b"] = region_of(c2)
    out["y"] = _outcome(t, c1, c2, year)
    contiguity = _contiguity(t, c1, c2, year)
    out["contig_land"] = (contiguity == 1).astype(float)
    out["contig_sea"] = ((contiguity >= 2) & (contiguity <= 5)).astype(float)
    dist, n_dist_filled = _distance(t, c1, c2, year, contiguity)
    out["log_dist"] = np.log1p(dist / 100.0)
    cinc_a, n_cinc_a = _cinc(t, c1, year)
    cinc_b, n_cinc_b = _cinc(t, c2, year)
    ratio = np.log(cinc_a / cinc_b)
    out["cap_ratio"] = ratio
    out["cap_parity"] = -np.abs(ratio)
    out["major_a"] = _major(t, c1, year)
    out["major_b"] = _major(t, c2, year)
    out["rivalry"] = _rivalry(t, c1, c2, year)
    for name, value in _pacts(t, c1, c2, year).items():
        out[name] = value
    out["post1945"] = (year >= 1945).astype(float)
    peace = _peace_years(t, c1, c2, year) / PEACE_SCALE
    for k in (1, 2, 3):
        out[f"peace{k}"] = peace**k
    out["prd"] = ((contiguity <= 4) | (out["major_a"] == 1) | (out["major_b"] == 1)).astype(bool)
    report = {
        "n_rows": len(out),
        "n_events": int(np.nansum(out["y"])),
        "n_unknown_outcome": int(out["y"].isna().sum()),
        "n_distance_filled": n_dist_filled,
        "n_cinc_filled": n_cinc_a + n_cinc_b,
        "coverage": t.coverage(),
        "coverage_rule": COVERAGE_NOTE,
    }
    cols = [
        "ccode1",
        "ccode2",
        "year",
        "dyad",
        "region_a",
        "region_b",
        "prd",
        "y",
        *COVARIATES,
        *ASSOCIATION_PACTS,
    ]
    return out[cols], report


def read_dyad_file(path: str | os.PathLike, t: DyadTables) -> pd.DataFrame:
    """Read a predict file (columns ``ccode1, ccode2, year``) and check each row is a pair of
    system members in that year.

    Raises
    ------
    DataError
        Missing or unreadable file, missing columns, malformed cells (line, column, value), or
        rows whose pair is not in the COW system that year (each named by its line).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"predict file {str(path)!r} does not exist")
    rules = {"ccode1": "number", "ccode2": "number", "year": "number"}
    frame = read_checked_csv(path, rules, str(path))
    problems = []
    for col in rules:
        values = frame[col].to_numpy(float)
        for i in np.flatnonzero((values != np.round(values)) | (values < 0)):
            problems.append(
                f"line {i + 2}: {col} = {float(values[i])!r} (expected a whole number >= 0)"
            )
    if problems:
        raise DataError(_format_problems(str(path), problems))
    keys = _key(frame["ccode1"], frame["ccode2"], frame["year"])
    known = np.isin(keys, _key(t.ddy["ccode1"], t.ddy["ccode2"], t.ddy["year"]))
    last = t.coverage()["ddy"]
    for i in np.flatnonzero(~known):
        r = frame.iloc[i]
        problems.append(
            f"line {i + 2}: ccode1 = {int(r['ccode1'])}, ccode2 = {int(r['ccode2'])}, year = "
            f"{int(r['year'])}: not a pair of system members in that year (COW state system, "
            f"{SOURCES['ddy'].filename}, covers 1816-{last})"
        )
    if problems:
        raise DataError(_format_problems(str(path), problems))
    return frame.astype({"ccode1": np.int64, "ccode2": np.int64, "year": np.int64})
