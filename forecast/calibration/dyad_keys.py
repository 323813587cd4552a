"""Keys, spells and lookups shared by the dyad-year joins (:mod:`forecast.calibration.dyads`,
:mod:`forecast.calibration.target_pacts`).

Depends on numpy and pandas only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.calibration.dyad_files import DyadTables


def _key(c1, c2, year=None) -> np.ndarray:
    """int64 key of (c1, c2[, year]); state codes are < 1000 and years < 10000."""
    key = np.asarray(c1, np.int64) * 1000 + np.asarray(c2, np.int64)
    return key if year is None else key * 10000 + np.asarray(year, np.int64)


def _undirected(c1, c2, year=None) -> np.ndarray:
    c1, c2 = np.asarray(c1), np.asarray(c2)
    return _key(np.minimum(c1, c2), np.maximum(c1, c2), year)


def _spell_years(ids: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
    """Expand spells [start, end] of ``ids`` (n, ...) into one row per year."""
    start = np.asarray(start, np.float64).astype(np.int64)
    end = np.maximum(np.asarray(end, np.float64).astype(np.int64), start)
    lengths = end - start + 1
    rep = np.repeat(np.arange(len(start)), lengths)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return rep, start[rep] + offset


def _lookup(keys: np.ndarray, table_keys: np.ndarray, values: np.ndarray, fill: float):
    """``values`` at ``keys`` in ``table_keys`` (unique after dedup), ``fill`` where absent."""
    index = pd.Index(table_keys)
    if not index.is_unique:
        first = ~index.duplicated()
        index, values = index[first], values[first]
    pos = index.get_indexer(keys)
    out = np.where(pos >= 0, values[np.maximum(pos, 0)], fill)
    return out.astype(float)


def _state_years(ccode, start, end) -> tuple[np.ndarray, np.ndarray]:
    rep, years = _spell_years(np.asarray(ccode), np.asarray(start), np.asarray(end))
    return np.asarray(ccode)[rep].astype(np.int64), years


def _clip(years: np.ndarray, last: int) -> np.ndarray:
    return np.minimum(years, last)


def _major(t: DyadTables, ccode, year) -> np.ndarray:
    m = t.majors
    states, years = _state_years(m["ccode"], m["styear"], m["endyear"])
    last = t.coverage()["majors"]
    return np.isin(_key(ccode, 0, _clip(year, last)), _key(states, 0, years)).astype(float)
