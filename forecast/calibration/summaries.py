"""Tables of a fitted posterior: effects, sampler diagnostics, raw honour rates.

Plain dicts and DataFrames for ``calibration.json`` and the notebook.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast.calibration.data import TYPE_COLUMNS
from forecast.calibration.model import CHECKED

_EFFECTS = (
    ("alpha", None),
    ("beta", "effect"),
    ("delta_source", None),
    ("gamma", "la_covariate"),
    ("theta", "extra_covariate"),
    ("sigma_war", None),
)


def effects_table(tree: xr.DataTree) -> pd.DataFrame:
    """Posterior mean and 90% interval of every scalar effect, on the logit scale."""
    post = tree["posterior"].to_dataset()
    rows = []
    for var, dim in _EFFECTS:
        if var not in post:
            continue
        da = post[var]
        labels = [None] if dim is None else list(da[dim].to_numpy().astype(str))
        for label in labels:
            x = (da if label is None else da.sel({dim: label})).to_numpy().ravel()
            rows.append(
                {
                    "parameter": var if label is None else f"{var}[{label}]",
                    "mean": float(np.mean(x)),
                    "q05": float(np.quantile(x, 0.05)),
                    "q95": float(np.quantile(x, 0.95)),
                    "p_positive": float(np.mean(x > 0)),
                }
            )
    return pd.DataFrame(rows)


def diagnostics(tree: xr.DataTree) -> dict:
    """:func:`arviz_stats.diagnose` on the checked parameters: divergences, tree depth,
    E-BFMI, ESS and R-hat, as a JSON-able dict with ``has_errors``."""
    import arviz_stats as azs

    names = [v for v in (*CHECKED, "theta") if v in tree["posterior"].data_vars]
    has_errors, diag = azs.diagnose(
        tree, var_names=names, show_diagnostics=False, return_diagnostics=True
    )
    out = {"has_errors": bool(has_errors)}
    for key, value in diag.items():
        out[key] = {
            k: (np.asarray(v).tolist() if isinstance(v, (np.ndarray, np.generic)) else v)
            for k, v in value.items()
            if not isinstance(v, (xr.Dataset, xr.DataArray))
        }
    return out


def raw_honour_rates(cases: pd.DataFrame) -> dict:
    """Observed share honoured (and count) by source, era and obligation type."""
    out = {"all": [float(cases["y"].mean()), len(cases)]}
    for col in ("source", "post1945", "multilateral"):
        for value, g in cases.groupby(col):
            out[f"{col}={value}"] = [float(g["y"].mean()), len(g)]
    for t in TYPE_COLUMNS:
        g = cases[cases[t] == 1]
        out[t] = [float(g["y"].mean()), len(g)]
    return out


def la_logit_all_cases(cases: pd.DataFrame) -> dict:
    """The Leeds-Anac logit refitted on every case it applies to (a sign check)."""
    from forecast.calibration import validation as val

    rows = val.la_logit_rows(cases)
    coef = val.fit_logit(val.la_logit_design(cases)[rows], cases["y"].to_numpy()[rows])
    return dict(zip(val.LA_LOGIT_TERMS, coef.tolist(), strict=True))
