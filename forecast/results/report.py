"""Pictures and tables a planner can put in a briefing: report.png, war.png (a war of several
phases), tornado.png, threshold.png, summary.csv, and the sweep curves of ``forecast-collect``;
:func:`write_reports` also writes the interactive report.html (:mod:`forecast.results.briefing`)
and draws.parquet (:mod:`forecast.results.export`).

Plots take Datasets and return :class:`matplotlib.figure.Figure` objects (no pyplot state, so no
GUI backend is needed and figures can be drawn from any thread). Files are written to a temporary
name and renamed. Dims other than the ones a panel shows (``attack_type`` once the model has it)
are drawn as separate series when there are few of them, or averaged, and the legend says which.
"""

from __future__ import annotations

import logging
import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from forecast import storage
from forecast.results import dataset as results
from forecast.results.labels import (  # noqa: F401  (the names this module always offered)
    LEVEL,
    ONCE_SEEN,
    ONCE_SEEN_CATEGORIES,
    config_of,
    error_of_series,
    given_series,
    groups,
    interval,
    mcse_of_mean,
    parameter_label,
    path_label,
    quantity_label,
    series,
    series_label,
    state_names,
    swept_paths,
)

log = logging.getLogger(__name__)

DRAW, ACTOR = results.DRAW, results.ACTOR
_mcse_of_mean = mcse_of_mean


# ----------------------------------------------------------------------------------------------
# report.png
# ----------------------------------------------------------------------------------------------


def _title(ds: xr.Dataset) -> str:
    names = state_names(ds)
    agg, tgt = str(ds.attrs.get("aggressor", "")), str(ds.attrs.get("target", ""))
    scen = str(ds.attrs.get("scenario", "")).capitalize()
    size = f"{ds.sizes.get(DRAW, 0)} epistemic draws x {int(ds.attrs.get('realizations', 0)):,}"
    return f"{scen}: if {names.get(agg, agg)} attacks {names.get(tgt, tgt)}  ({size} crises each)"


def _figure(width: float, height: float, footer_lines: int = 2) -> Figure:
    """A constrained-layout figure that leaves a strip at the bottom for the footer."""
    fig = Figure(figsize=(width, height), layout="constrained")
    strip = (0.1 + 0.13 * footer_lines) / height
    fig.get_layout_engine().set(rect=(0, strip, 1, 1 - strip))
    return fig


def _footer(fig: Figure, ds: xr.Dataset) -> None:
    fig.text(
        0.005,
        0.005,
        f"forecast {ds.attrs.get('version_forecast', '')}, git {ds.attrs.get('git_revision', '')}"
        f", seed {ds.attrs.get('seed', '')}, created {ds.attrs.get('created', '')}.\nIntervals: "
        f"{LEVEL:.0%} across epistemic draws (what we do not know); MCSE: Monte Carlo standard "
        "error (chance in the simulation).",
        fontsize=7,
        color="0.4",
    )


def _actor_panel(
    ax: Any, ds: xr.Dataset, name: str, title: str, limits: tuple | None = (0, 1)
) -> None:
    """Each partner's mean and interval of ``name``; ``limits`` None: a difference of
    probabilities, scaled to the data around 0."""
    var = name
    by_type = ds.get(f"{name}_by_type")
    if by_type is not None and by_type.sizes.get(results.ATTACK_TYPE, 1) > 1:
        # the partners' answer depends on the kind of attack: one series per attack type
        var, title = f"{name}_by_type", f"{title}, by attack type"
    da = ds[var]
    labels = [str(v) for v in ds["actor_name"].values] if "actor_name" in ds.coords else None
    parts = series(da, (DRAW, ACTOR))
    n = len(parts)
    y = np.arange(da.sizes[ACTOR])
    for k, (label, sub) in enumerate(parts):
        mean, lo, hi = interval(sub, DRAW)
        off = (k - (n - 1) / 2) * 0.6 / max(n, 1) if n > 1 else 0.0
        ax.errorbar(
            mean.values,
            y + off,
            # the mean of a skewed spread can lie outside its 90% interval: no bar then
            xerr=np.clip([mean.values - lo.values, hi.values - mean.values], 0.0, None),
            fmt="o",
            capsize=3,
            label=label or f"mean and {LEVEL:.0%} interval",
        )
        for xv, yv in zip(mean.values, y + off, strict=True):
            ax.annotate(
                f"{xv:.2f}",
                (xv, yv),
                xytext=(0, 5),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
    ax.set_yticks(y, labels or [str(v) for v in da[ACTOR].values])
    ax.invert_yaxis()
    if limits is None:
        ax.axvline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel("difference of probabilities")
    else:
        ax.set_xlim(*limits)
        ax.set_xlabel(f"{quantity_label(name)} (probability)")
    se = _mcse_of_mean(ds, var)
    note = f"; MCSE of means <= {float(se.max()):.1g}" if se is not None else ""
    ax.set_title(f"{title}\n(mean, {LEVEL:.0%} interval across draws{note})", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    if n > 1:  # one series is named by the title; a legend would only cover points
        ax.legend(fontsize=8, loc="best")


def _distribution_panel(ax: Any, ds: xr.Dataset, name: str) -> None:
    parts = series(ds[name], (DRAW,))
    for label, sub in parts:
        ax.hist(sub.values, bins=25, range=(0, 1), alpha=0.85 / len(parts), label=label or None)
    da = ds[name].mean([d for d in ds[name].dims if d != DRAW])
    mean, lo, hi = (float(v) for v in interval(da, DRAW))
    ax.axvspan(
        lo,
        hi,
        color="0.5",
        alpha=0.15,
        zorder=0,
        label=f"{LEVEL:.0%} interval [{lo:.2f}, {hi:.2f}]",
    )
    ax.axvline(mean, color="C1", lw=2.5, label=f"mean {mean:.3f}")
    se = _mcse_of_mean(ds, name)
    if se is not None:
        ax.plot([], [], " ", label=f"MCSE of the mean {float(se.mean()):.1g}")
    if "p_defense_success" in ds and name != "p_defense_success":
        d = ds["p_defense_success"].mean([x for x in ds["p_defense_success"].dims if x != DRAW])
        m, lo, hi = (float(v) for v in interval(d, DRAW))
        ax.plot([], [], " ", label=f"P(defence succeeds | attack):\n  {m:.2f} [{lo:.2f}, {hi:.2f}]")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{quantity_label(name)} in a draw (probability)")
    ax.set_ylabel("number of epistemic draws")
    ax.set_title(f"{quantity_label(name)}: spread across draws", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")


def plot_report(ds: xr.Dataset) -> Figure:
    """report.png: partners' P(join) with intervals, P(deterrence) across draws, pivotality for
    defence and, beside it, for deterrence."""
    names = ("p_join", "p_deterrence", "pivotality", "pivotality_deterrence")
    panels = [p for p in names if p in ds]
    fig = _figure(5.6 * len(panels), 5.0)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, name in zip(axes, panels, strict=True):
        if name == "p_join":
            _actor_panel(ax, ds, name, "Who comes? P(partner joins | attack)")
        elif name == "pivotality":
            # a difference of probabilities, negative where a partner's coming makes others
            # pass the buck: scaled to the data, with 0 marked
            title = "Pivotality: P(defence succeeds), partner in - out"
            _actor_panel(ax, ds, name, title, limits=None)
        elif name == "pivotality_deterrence":
            title = "Pivotality for deterrence: P(attack) if known out - P(attack)"
            _actor_panel(ax, ds, name, title, limits=None)
        else:
            _distribution_panel(ax, ds, name)
    fig.suptitle(_title(ds), fontsize=12)
    _footer(fig, ds)
    return fig


def plot_war(ds: xr.Dataset) -> Figure:
    """war.png: the war's course over its phases (docs/war.md). Left: P(the aggressor holds the
    objective at the end of each phase | attack) and P(the war ends in it), mean and 90%
    interval across draws. Right: the coalition's mean power in each phase (over the crises
    whose war reaches it) beside the aggressor's starting power."""
    phase = results.PHASE
    names = [str(p) for p in ds[phase].values]
    x = np.arange(len(names))
    fig = _figure(12.0, 4.8)
    left, right = fig.subplots(1, 2)
    for name, label, style in (
        ("p_holds_objective", "P(the aggressor holds the objective at the phase's end)", "o-"),
        ("p_decided_in_phase", "P(the war ends in the phase)", "s--"),
    ):
        m, lo, hi = (np.asarray(v) for v in interval(ds[name], DRAW))
        left.plot(x, m, style, label=label)
        left.fill_between(x, lo, hi, alpha=0.2)
    left.set_ylim(0, 1)
    left.set_xticks(x, names)
    left.set_xlabel("phase")
    left.set_ylabel("probability | attack")
    left.set_title("The war's course: mean and 90% interval across draws", fontsize=10)
    left.legend(fontsize=8, loc="best")
    power = ds["coalition_power_by_phase"]
    m = np.asarray(power.mean(DRAW, skipna=True))
    lo, hi = (np.asarray(power.quantile(q, DRAW, skipna=True)) for q in (0.05, 0.95))
    err = np.clip([m - lo, hi - m], 0.0, None)
    right.bar(x, m, yerr=err, capsize=4, color="tab:blue", alpha=0.7,
              label="coalition (mean, 90% interval)")  # fmt: skip
    own = "aggressor's own force at the start (mean;\nan attack type may bring less)"
    right.axhline(float(ds["capability_aggressor"].mean()), color="tab:red", ls="--", label=own)
    right.set_xticks(x, names)
    right.set_xlabel("phase")
    right.set_ylabel("power (capability units)")
    right.set_title("Coalition power in each phase, over the wars that reach it", fontsize=10)
    right.legend(fontsize=8, loc="best")
    sub = results.decisive_words(ds).removeprefix("the war is ")
    sub = textwrap.fill(f"the war over its phases: {sub}", 130)
    fig.suptitle(f"{_title(ds)}\n{sub}", fontsize=11)
    _footer(fig, ds)
    return fig


# ----------------------------------------------------------------------------------------------
# tornado.png and threshold.png
# ----------------------------------------------------------------------------------------------


def plot_tornado(ds: xr.Dataset) -> Figure:
    """tornado.png: the tornado of P(deterrence), and the first-order indices beside it."""
    base = float(ds["tornado_base"])
    low, high = ds["tornado_low"].values, ds["tornado_high"].values
    order = np.argsort(-np.abs(high - low))
    names = [str(v) for v in ds["parameter"].values]
    paths = [str(v) for v in ds["parameter_path"].values]
    vlo, vhi = ds["tornado_value_low"].values, ds["tornado_value_high"].values
    labels = [
        f"{parameter_label(names[j], paths[j], ds)}\n{vlo[j]:.3g} to {vhi[j]:.3g}" for j in order
    ]
    qlo, qhi = (
        ds["tornado_low"].attrs.get("quantile", 0.05),
        ds["tornado_high"].attrs.get("quantile", 0.95),
    )
    fig = _figure(13, 1.6 + 0.5 * len(order))
    ax, ax2 = fig.subplots(1, 2, sharey=True, width_ratios=[1.6, 1])
    y = np.arange(len(order))
    ax.barh(y, low[order] - base, left=base, color="C3", label=f"belief at its {qlo:.0%} quantile")
    ax.barh(y, high[order] - base, left=base, color="C0", label=f"belief at its {qhi:.0%} quantile")
    # the bars are differences from the base on common random numbers: their error is paired
    pair = ("mcse_tornado_low_diff", "mcse_tornado_high_diff")
    if not all(v in ds for v in pair):
        pair = ("mcse_tornado_low", "mcse_tornado_high")
    err = 2 * np.stack([ds[pair[0]].values, ds[pair[1]].values])[:, order]
    ax.errorbar(low[order], y, xerr=err[0], fmt="none", ecolor="k", capsize=2)
    ax.errorbar(high[order], y, xerr=err[1], fmt="none", ecolor="k", capsize=2)
    ax.axvline(base, color="k", lw=1, label=f"all beliefs at their medians: {base:.3f}")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    q = ds["tornado_base"].attrs.get("quantity", "p_deterrence")
    ax.set_xlabel(f"{quantity_label(q)} (probability; whiskers: +-2 MCSE of the change)")
    ax.set_title("Tornado: one belief moved, the others at their medians", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    s1, se = ds["sensitivity_first_order"].values, ds["sensitivity_first_order_se"].values
    ax2.barh(y, s1[order], xerr=2 * np.nan_to_num(se[order]), color="0.55", capsize=2)
    ax2.axvline(0, color="k", lw=0.8)
    ax2.set_xlabel("first-order index S = Var(E[P | belief]) / Var(P)")
    ax2.set_title(
        "Share of the spread across draws explained by\neach belief alone (+-2 bootstrap SE; "
        "correlated\nbeliefs share credit, so the sum may exceed 1)",
        fontsize=10,
    )
    ax2.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Which belief moves {quantity_label(q)}? " + _title(ds), fontsize=11)
    _footer(fig, ds)
    return fig


def plot_threshold(ds: xr.Dataset) -> Figure:
    """threshold.png: the mean curve over the searched range, its spread and the threshold."""
    t = ds["threshold"].attrs
    x = ds["threshold_value"].values
    cd = ds["threshold_curve_draw"]
    lo, hi = cd.quantile((1 - LEVEL) / 2, DRAW).values, cd.quantile((1 + LEVEL) / 2, DRAW).values
    message = textwrap.wrap(str(t["message"]), 120)
    fig = _figure(9, 6, footer_lines=len(message))
    ax = fig.subplots()
    ax.fill_between(x, lo, hi, alpha=0.2, label=f"one draw's value, {LEVEL:.0%} interval")
    ax.errorbar(
        x,
        ds["threshold_curve"].values,
        yerr=2 * ds["mcse_threshold_curve"].values,
        fmt="o-",
        ms=3,
        label="mean over draws (+-2 MCSE)",
    )
    ax.axhline(t["target"], color="k", ls="--", lw=1, label=f"target {t['target']:g}")
    q = ds["threshold_quantile"].values
    lo_x, hi_x = (float(np.clip(v, x[0], x[-1])) for v in (q[0], q[-1]))
    ax.axvspan(
        lo_x,
        hi_x,
        color="C3",
        alpha=0.08,
        label="per-draw thresholds, "
        f"{ds['threshold_quantile'].attrs.get('level', LEVEL):.0%} interval",
    )
    if np.isfinite(float(ds["threshold"])):
        v = float(ds["threshold"])
        cmp = ">=" if t["direction"] == "at least" else "<="
        ax.axvline(v, color="C3", lw=1.5, label=f"threshold: {cmp} {v:.3g}")
    ax.set_ylim(0, 1)
    ax.set_xlabel(path_label(str(t["path"]), ds) if t.get("path") else str(t["parameter"]))
    ax.set_ylabel(f"{quantity_label(str(t['quantity']))} (probability)")
    label = parameter_label(str(t["parameter"]), str(t.get("path", "")), ds)
    q = quantity_label(str(t["quantity"]))
    ax.set_title(
        f"What must be true for {q} >= {t['target']:g}?\n{label} held at each value in every "
        "draw, the other beliefs keep their draws",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.text(0.01, 0.01, "\n".join(message), fontsize=8, va="bottom")
    fig.suptitle(_title(ds), fontsize=11)
    return fig


# ----------------------------------------------------------------------------------------------
# Sweep curves
# ----------------------------------------------------------------------------------------------


def plot_sweep(sweep: xr.Dataset, name: str) -> Figure:
    """``name`` against the first swept config path with several values; a series per partner
    and per value of the other swept paths (averaged when there are too many).

    Points: the mean over draws, with error bars of 2 Monte Carlo errors of the mean (the
    draws' and the crises' noise both); bands: the interval across draws. For an output given
    an attack, a dashed line (open diamonds for categories) gives it once an attack is seen,
    as the sweep page does.
    """
    paths = swept_paths(sweep)
    x_dim = next((d for d in paths if sweep.sizes[d] > 1), paths[0])
    da = sweep[name]
    numeric = np.issubdtype(sweep[x_dim].dtype, np.number)
    xs = sweep[x_dim].values if numeric else np.arange(sweep.sizes[x_dim])
    fig = _figure(9, 5.5)
    ax = fig.subplots()
    names = state_names(sweep)
    parts = groups(da, (x_dim, DRAW), names=names)
    for k, (label, sel, avg) in enumerate(parts):
        sub = da.sel(sel).mean(avg) if avg else da.sel(sel)
        mean, lo, hi = interval(sub, DRAW)
        err = 2 * error_of_series(sub)
        given = given_series(sweep, name, sel, avg, [])
        color = f"C{k % 10}"
        label = series_label(label, sweep) or "mean over draws"
        if numeric:
            ax.fill_between(xs, lo.values, hi.values, color=color, alpha=0.12)
            ax.errorbar(xs, mean.values, yerr=err, fmt="o-", color=color, capsize=3, label=label)
            if given is not None:
                ax.plot(xs, given, ls="--", color=color)
        else:
            # categories (scenarios, ...): no lines between them; the interval as a thin bar
            x = xs + (k - (len(parts) - 1) / 2) * 0.6 / max(len(parts), 1)
            spread = [mean.values - lo.values, hi.values - mean.values]
            ax.errorbar(x, mean.values, yerr=spread, fmt="none", ecolor=color, alpha=0.35, lw=4)
            ax.errorbar(x, mean.values, yerr=err, fmt="o", color=color, capsize=3, label=label)
            if given is not None:
                ax.plot(x, given, ls="none", marker="D", mfc="none", color=color)
    if results.if_attacked_over_draws(sweep, name) is not None:  # what the dashes mean
        ax.plot([], [], ls="--" if numeric else "none", marker=None if numeric else "D",
                mfc="none", color="0.35",
                label=ONCE_SEEN if numeric else ONCE_SEEN_CATEGORIES)  # fmt: skip
    ax.set_ylim(0, 1)
    if not numeric:
        ax.set_xticks(xs, [str(v) for v in sweep[x_dim].values])
    ax.set_xlabel(path_label(str(sweep[x_dim].attrs.get("config_path", x_dim)), sweep))
    ax.set_ylabel(f"{quantity_label(name)} (probability)")
    crn = (
        "points share random numbers"
        if sweep.attrs.get("common_random_numbers", 1)
        else "points use different seeds"
    )
    ax.set_title(
        f"{quantity_label(name)} across the sweep\n(mean over draws +-2 Monte Carlo errors; "
        f"{'band' if numeric else 'bar'}: {LEVEL:.0%} interval across epistemic draws; {crn})",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    title = _title(sweep).replace("  (", "  (each point: ")
    if "scenario" in paths:  # the first job's scenario would mislabel the others
        title = "Sweep over scenarios: " + ", ".join(map(str, sweep["scenario"].values))
    fig.suptitle(title, fontsize=11)
    _footer(fig, sweep)
    return fig


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically."""
    return storage.replace_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=130))


def summary_frame(ds: xr.Dataset) -> pd.DataFrame:
    """The summary table (:func:`forecast.results.dataset.summary_table`) with state names,
    descriptions
    and, when the run searched one, the threshold (its interval is across per-draw thresholds)."""
    df = results.summary_table(ds, level=LEVEL)
    names = state_names(ds)
    df.insert(2, "actor_name", [names.get(a, "") for a in df["actor"]])
    df["description"] = [str(ds[q].attrs.get("description", "")) for q in df["quantity"]]
    if "threshold" in ds:
        t = ds["threshold"].attrs
        q = ds["threshold_quantile"].values
        row = {c: None for c in df.columns}
        row.update(
            quantity=f"threshold {t['parameter']}",
            actor="",
            actor_name="",
            mean=float(ds["threshold"]),
            mcse=float(ds["mcse_threshold"]),
            description=str(t["message"]),
        )
        row[df.columns[4]], row[df.columns[5]] = float(q[0]), float(q[-1])
        df = pd.concat([df, pd.DataFrame([row])], ignore_index=True)
    return df


def write_summary(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write :func:`summary_frame` as CSV atomically."""
    return storage.replace_atomically(path, lambda tmp: summary_frame(ds).to_csv(tmp, index=False))


def write_reports(ds: xr.Dataset, out_dir: str | os.PathLike, analysis_cfg: Any) -> list[Path]:
    """Write the reports of a run into ``out_dir``; return their paths.

    Always ``draws.parquet`` (one row per epistemic draw); with ``analysis.report`` also
    ``summary.csv``, ``report.png`` and the interactive ``report.html``; ``tornado.png`` and
    ``threshold.png`` when the run has those analyses. A failing plot is logged and skipped:
    the forecast itself is already on disk.
    """
    from forecast.results import briefing, export

    out = Path(out_dir)
    jobs: list[tuple[str, Any]] = [(export.DRAWS_FILE, lambda p: export.write_draws(ds, p))]
    if analysis_cfg.report:
        jobs += [("summary.csv", lambda p: write_summary(ds, p))]
        jobs += [("report.png", lambda p: save_figure(plot_report(ds), p))]
        jobs += [("report.html", lambda p: briefing.write_report_html(ds, p))]
        if ds.sizes.get(results.PHASE, 1) > 1:
            jobs += [("war.png", lambda p: save_figure(plot_war(ds), p))]
    if "tornado_low" in ds:
        jobs += [("tornado.png", lambda p: save_figure(plot_tornado(ds), p))]
    if "threshold" in ds:
        log.info("threshold: %s", ds["threshold"].attrs["message"])
        jobs += [("threshold.png", lambda p: save_figure(plot_threshold(ds), p))]
    written = []
    for name, write in jobs:
        try:
            written.append(write(out / name))
            log.info("wrote %s", out / name)
        except Exception:
            log.exception("could not write %s", out / name)
    return written
