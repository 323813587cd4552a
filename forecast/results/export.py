"""``draws.parquet``: one row per epistemic draw, every parameter and every probability as a
column, for users of pandas, R (arrow) or DuckDB.

A variable over ``draw`` alone is one column under its own name; one over more dims is one
column per cell, named ``name[value,...]`` by the other dims' values in order
(``p_join[USA]``, ``p_join_by_type[blockade,JPN]``, ``coalition_power_ratio[0.5]``). The file's
metadata holds the run's provenance (seed, config, git revision, ...) and each column's
description and source variable, so the table can be read without ``forecast.nc``.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast import storage
from forecast.results import dataset as results

DRAW = results.DRAW
DRAWS_FILE = "draws.parquet"


def _cell(v) -> str:
    if isinstance(v, float | np.floating):
        return f"{float(v):g}"
    return str(v)


def draws_frame(ds: xr.Dataset) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The table of draws and, per column, its source variable, cell and description."""
    columns: dict[str, np.ndarray] = {DRAW: np.asarray(ds[DRAW].values)}
    meta: dict[str, dict] = {DRAW: {"variable": DRAW, "description": "epistemic draw"}}
    for name, da in ds.data_vars.items():
        if DRAW not in da.dims or not np.issubdtype(da.dtype, np.number):
            continue
        da = da.transpose(DRAW, ...)
        other = [d for d in da.dims if d != DRAW]
        desc = str(da.attrs.get("description", ""))
        for combo in itertools.product(*(range(da.sizes[d]) for d in other)):
            sel = dict(zip(other, combo, strict=True))
            labels = [_cell(ds[d].values[i]) if d in ds.coords else str(i) for d, i in sel.items()]
            col = f"{name}[{','.join(labels)}]" if other else str(name)
            columns[col] = np.asarray(da.isel(sel).values, dtype=float)
            meta[col] = {
                "variable": str(name),
                "cell": dict(zip(other, labels, strict=True)),
                "description": desc,
            }
    return pd.DataFrame(columns), meta


def write_draws(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write :func:`draws_frame` as Parquet atomically, with the provenance as metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    df, meta = draws_frame(ds)
    table = pa.Table.from_pandas(df, preserve_index=False)
    attrs = {k: str(v) for k, v in ds.attrs.items()}
    extra = {
        b"forecast.attrs": json.dumps(attrs).encode(),
        b"forecast.columns": json.dumps(meta).encode(),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    return storage.replace_atomically(path, lambda tmp: pq.write_table(table, tmp))


def read_draws(path: str | os.PathLike) -> tuple[pd.DataFrame, dict, dict]:
    """The table, the run's attributes and the columns' metadata of a ``draws.parquet``."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    md = table.schema.metadata or {}
    attrs = json.loads(md.get(b"forecast.attrs", b"{}"))
    cols = json.loads(md.get(b"forecast.columns", b"{}"))
    return table.to_pandas(), attrs, cols
