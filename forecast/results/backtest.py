"""The backtest's results: forecasts and scores as a Dataset (dims ``case``, ``event``), the
scores table, the long CSV and the reliability diagram. The only place that knows these names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast import storage
from forecast.analysis import scoring

#: Scores tables' rows: each kind of event, then all scored events together.
GROUPS = (*scoring.KINDS, "overall")


def to_dataset(
    cases: list[Any],
    events: list[str],
    kinds: np.ndarray,
    outcome: np.ndarray,
    p: dict[str, np.ndarray],
) -> xr.Dataset:
    """Forecasts (C, E) of each predictor, the outcomes (C, E) and their scores, as a Dataset."""
    coords = {
        "case": [c.name for c in cases],
        "event": events,
        "crisis_date": ("case", [c.date for c in cases]),
        "event_kind": ("event", list(kinds)),
    }
    data = {"outcome": (("case", "event"), outcome)}
    for name, probs in p.items():
        data[f"p_{name}"] = (("case", "event"), probs)
        data[f"brier_{name}"] = (("case", "event"), scoring.brier(probs, outcome))
        data[f"log_score_{name}"] = (("case", "event"), scoring.log_score(probs, outcome))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs["predictors"] = ",".join(p)
    ds.attrs["clip"] = scoring.CLIP
    ds.attrs["overall_scores"] = json.dumps(overall_scores(ds))
    return ds


def predictors(ds: xr.Dataset) -> list[str]:
    return str(ds.attrs["predictors"]).split(",")


def scores_table(ds: xr.Dataset) -> pd.DataFrame:
    """Mean Brier and log score of each predictor by kind of event and overall, and n events.

    Every predictor is scored on the same events (those with an outcome on record).
    """
    scored = ~np.isnan(ds.outcome.values)
    kinds = ds.event_kind.values
    rows = []
    for group in GROUPS:
        mask = scored & ((kinds == group)[None, :] if group != "overall" else True)
        row: dict[str, Any] = {"events": group, "n": int(mask.sum())}
        for name in predictors(ds):
            for score in ("brier", "log_score"):
                values = ds[f"{score}_{name}"].values[mask]
                row[f"{score}_{name}"] = float(values.mean()) if len(values) else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("events")


def case_scores(ds: xr.Dataset) -> pd.DataFrame:
    """Mean Brier and log score of each predictor per case, over that case's scored events."""
    out = {"n": (~np.isnan(ds.outcome)).sum("event").to_series()}
    for name in predictors(ds):
        for score in ("brier", "log_score"):
            out[f"{score}_{name}"] = ds[f"{score}_{name}"].mean("event", skipna=True).to_series()
    return pd.DataFrame(out)


def overall_scores(ds: xr.Dataset) -> dict[str, float]:
    """``{"<score>_<predictor>": mean over all scored events}``, and ``n_events``."""
    table = scores_table(ds)
    out = {k: float(v) for k, v in table.loc["overall"].items() if k != "n"}
    out["n_events"] = int(table.loc["overall", "n"])
    return out


def format_scores(ds: xr.Dataset) -> str:
    """The scores table as text (lower is better), for the console and the docs."""
    table = scores_table(ds)
    names = predictors(ds)
    head = f"{'events':<16}{'n':>4}" + "".join(f"{'Brier ' + n:>18}" for n in names)
    head += "".join(f"{'log ' + n:>16}" for n in names)
    lines = [head]
    for group, row in table.iterrows():
        line = f"{group:<16}{int(row['n']):>4}"
        line += "".join(f"{row[f'brier_{n}']:>18.3f}" for n in names)
        line += "".join(f"{row[f'log_score_{n}']:>16.3f}" for n in names)
        lines.append(line)
    return "\n".join(lines)


def long_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (case, event) that applies to the case: outcome, forecasts and scores."""
    frame = ds.to_dataframe().reset_index()
    cols = [c for c in frame.columns if c.startswith("p_")]
    return frame[frame["p_model"].notna() | frame["outcome"].notna()][
        ["case", "crisis_date", "event", "event_kind", "outcome", *cols]
        + [c for c in frame.columns if c.startswith(("brier_", "log_score_"))]
    ]


def plot_reliability(ds: xr.Dataset, path: Path, n_bins: int = 5) -> Path:
    """Reliability diagram of every predictor over all scored events, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = ds.outcome.values.ravel()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect calibration")
    for name, marker in zip(predictors(ds), "osd", strict=False):
        tab = scoring.reliability(ds[f"p_{name}"].values.ravel(), y, n_bins)
        ok = tab["n"] > 0
        err = np.clip(
            [
                tab["observed"][ok] - tab["observed_q05"][ok],
                tab["observed_q95"][ok] - tab["observed"][ok],
            ],
            0.0,
            None,
        )
        ax.errorbar(
            tab["p_mean"][ok], tab["observed"][ok], yerr=err, marker=marker, capsize=3, label=name
        )
    ax.set_xlabel("forecast probability")
    ax.set_ylabel("observed frequency (90% interval)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    n = int((~np.isnan(y)).sum())
    ax.set_title(f"Backtest reliability, {n} scored events, {ds.sizes['case']} cases")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    meta = {"Software": "forecast-backtest", "git_revision": storage.git_revision()}
    try:
        return storage.replace_atomically(
            path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, metadata=meta)
        )
    finally:
        plt.close(fig)


def write(ds: xr.Dataset, out_dir: Path) -> dict[str, Path]:
    """Write ``backtest.nc``, ``backtest.csv`` (one row per case and event), ``scores.csv``
    (the scores table), ``case_scores.csv`` and ``reliability.png`` atomically into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ds = ds.copy()
    ds.attrs.setdefault("git_revision", storage.git_revision())
    ds.attrs.setdefault("package_versions", json.dumps(storage.package_versions()))
    paths = {"nc": storage.write_atomic(ds, out_dir / "backtest.nc")}
    for key, frame, index in (
        ("csv", long_table(ds), False),
        ("scores", scores_table(ds), True),
        ("case_scores", case_scores(ds), True),
    ):
        name = "backtest.csv" if key == "csv" else f"{key}.csv"
        paths[key] = storage.replace_atomically(
            out_dir / name, lambda tmp, f=frame, i=index: f.to_csv(tmp, index=i)
        )
    paths["png"] = plot_reliability(ds, out_dir / "reliability.png")
    return paths
