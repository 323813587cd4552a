"""``sweep.html`` of ``forecast-collect``: each output against each swept config path, with the
interval across epistemic draws, as linked interactive plots.

One row of figures per output (P(deterrence), P(attack), each partner's P(join), ...), one column
per swept path with more than one value. The figures of a column share their x axis: hovering a
point shows the same swept value in every figure of the column, and zooming one zooms them all.
Dims a figure does not show are drawn as one series per value when there are few (the partners,
the other swept paths), else averaged, and the legend says which (:func:`labels.groups`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from forecast.results import briefing
from forecast.results import dataset as results
from forecast.results import html as h
from forecast.results.labels import (
    LEVEL,
    ONCE_SEEN,
    ONCE_SEEN_CATEGORIES,
    config_path,
    crises_error_of_series,
    error_of_series,
    given_series,
    groups,
    interval,
    path_label,
    quantity_label,
    series_label,
    state_names,
    swept_paths,
)

DRAW = results.DRAW
SWEEP_PAGE = "sweep.html"
#: the outputs drawn against the swept values, in this order, when the sweep has them
OUTPUTS = (
    "p_deterrence",
    "p_attack_within_horizon",
    "p_attack",
    "p_defense_success",
    "p_join",
    "p_join_in_time",
    "pivotality",
    "pivotality_deterrence",
)

# Hovering a point shows the same x in every figure of its column; a zoom is applied to all.
_LINK = """
window.addEventListener('load', function () {
  var columns = {};
  document.querySelectorAll('[data-sweep-x]').forEach(function (w) {
    var gd = w.querySelector('.plotly-graph-div');
    if (!gd || typeof gd.on !== 'function') return;
    var k = w.getAttribute('data-sweep-x');
    (columns[k] = columns[k] || []).push(gd);
  });
  Object.keys(columns).forEach(function (k) {
    var col = columns[k], syncing = false;
    col.forEach(function (gd) {
      gd.on('plotly_hover', function (ev) {
        if (ev.event && ev.event.linked) return;
        var x = ev.points[0].x;
        col.forEach(function (o) { if (o !== gd) Plotly.Fx.hover(o, {xval: x, linked: true}); });
      });
      gd.on('plotly_unhover', function (ev) {
        if (ev && ev.event && ev.event.linked) return;
        col.forEach(function (o) { if (o !== gd) Plotly.Fx.unhover(o); });
      });
      gd.on('plotly_relayout', function (ev) {
        if (syncing) return;
        var upd = {};
        ['xaxis.range[0]', 'xaxis.range[1]', 'xaxis.autorange'].forEach(function (key) {
          if (key in ev) upd[key] = ev[key];
        });
        if (!Object.keys(upd).length) return;
        syncing = true;
        Promise.all(col.filter(function (o) { return o !== gd; })
          .map(function (o) { return Plotly.relayout(o, upd); }))
          .then(function () { syncing = false; }, function () { syncing = false; });
      });
    });
  });
  document.body.setAttribute('data-linked', String(Object.keys(columns).length));
});
"""


def sweep_figure(sweep: xr.Dataset, name: str, x_dim: str):
    """``name`` against the swept dim ``x_dim``: mean over draws (+-2 Monte Carlo errors of the
    mean), band = interval; dashed (open diamonds for categories): once an attack is seen."""
    import plotly.graph_objects as go

    path = config_path(sweep, x_dim)
    da = sweep[name]
    # a swept path with one value is no series of its own
    single = [d for d in swept_paths(sweep) if d != x_dim and d in da.dims and da.sizes[d] == 1]
    da = da.isel({d: 0 for d in single})
    numeric = np.issubdtype(sweep[x_dim].dtype, np.number)
    xs = (
        sweep[x_dim].values.astype(float) if numeric else np.arange(sweep.sizes[x_dim], dtype=float)
    )
    ticks = [str(v) for v in sweep[x_dim].values]
    fig = go.Figure()
    parts = groups(da, (x_dim, DRAW), names=state_names(sweep))
    for k, (label, sel, avg) in enumerate(parts):
        sub = da.sel(sel).mean(avg) if avg else da.sel(sel)
        mean, lo, hi = (v.values for v in interval(sub, DRAW))
        err = 2 * error_of_series(sub)  # the whiskers: 2 whole Monte Carlo errors
        crises = crises_error_of_series(sweep, name, sel, avg, single)
        given = given_series(sweep, name, sel, avg, single)
        label = series_label(label, sweep) or "mean over draws"
        c = h.color(k)
        if numeric:  # the interval as a band between swept values
            fig.add_trace(
                go.Scatter(x=xs, y=hi, mode="lines", line={"width": 0}, legendgroup=label,
                           showlegend=False, hoverinfo="skip")
            )  # fmt: skip
            fig.add_trace(
                go.Scatter(x=xs, y=lo, mode="lines", line={"width": 0}, fill="tonexty",
                           fillcolor=_rgba(c, 0.15), legendgroup=label, showlegend=False,
                           hoverinfo="skip")
            )  # fmt: skip
            x = xs
        else:  # categories (scenarios): no band between them, the interval as a thick bar
            x = xs + (k - (len(parts) - 1) / 2) * 0.5 / max(len(parts), 1)
            fig.add_trace(
                go.Scatter(x=x, y=mean, mode="markers", marker={"opacity": 0},
                           error_y={"type": "data", "symmetric": False, "array": hi - mean,
                                    "arrayminus": mean - lo, "thickness": 9, "width": 0,
                                    "color": _rgba(c, 0.3)},
                           legendgroup=label, showlegend=False, hoverinfo="skip")
            )  # fmt: skip
        text = [
            f"<b>{h.esc(label)}</b><br>{h.esc(path)} = {h.esc(t)}<br>{h.esc(quantity_label(name))}"
            f": {h.fmt_p(m, 3)}<br>{LEVEL:.0%} interval {h.fmt_p(a, 3)}–{h.fmt_p(b, 3)}"
            f"<br>Monte Carlo error of the mean ±{h.fmt_se(e / 2)}"
            + (f" (the crises' part ±{h.fmt_se(c)})" if crises is not None else "")
            + (f"<br>once an attack is seen: {h.fmt_p(g, 3)}" if given is not None else "")
            for t, m, a, b, e, c, g in zip(
                ticks,
                mean,
                lo,
                hi,
                err,
                crises if crises is not None else mean,
                given if given is not None else mean,
                strict=True,
            )
        ]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=mean,
                mode="lines+markers" if numeric else "markers",
                name=label,
                legendgroup=label,
                line={"color": c},
                marker={"size": 8, "color": c},
                error_y={"type": "data", "array": err},
                hovertext=text,
                hoverinfo="text",
            )
        )
        if given is not None:  # dashed: the same series once an attack is seen
            fig.add_trace(
                go.Scatter(x=x, y=given, mode="lines" if numeric else "markers",
                           name=f"{label}, once an attack is seen", legendgroup=label,
                           showlegend=False, line={"color": c, "dash": "dash"},
                           marker={"symbol": "diamond-open", "size": 9, "color": c},
                           hoverinfo="skip")
            )  # fmt: skip
    if results.if_attacked_over_draws(sweep, name) is not None:  # what the dashes mean
        fig.add_trace(
            go.Scatter(x=[None], y=[None], mode="lines" if numeric else "markers",
                       name=ONCE_SEEN if numeric else ONCE_SEEN_CATEGORIES,
                       line={"color": "#555", "dash": "dash"},
                       marker={"symbol": "diamond-open", "size": 9, "color": "#555"},
                       hoverinfo="skip")
        )  # fmt: skip
    xaxis = {"title": path_label(path, sweep).split("  (")[0]}
    if not numeric:
        xaxis.update(tickvals=list(xs), ticktext=ticks)
    fig.update_layout(
        title=f"{quantity_label(name)}<br><sup>against {h.esc(path)}</sup>",
        xaxis=xaxis,
        yaxis=(
            {"title": "difference of probabilities", "zeroline": True, "zerolinewidth": 2}
            if name.startswith("pivotality")  # may be negative: scaled to the data
            else {"range": [0, 1], "title": "probability"}
        ),
        height=460,
        hovermode="x",
        legend={"font": {"size": 11}, "orientation": "h", "y": -0.25},
        margin={"t": 70, "b": 40},
    )
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _points_table(sweep: xr.Dataset, paths: list[str]) -> str:
    """Every point of the sweep: its job, status and P(deterrence), with ids ``sweep-point-<n>``
    and the full-precision numbers as data attributes."""
    rows, attrs = [], []
    for idx in np.ndindex(*(sweep.sizes[p] for p in paths)):
        sel = {p: sweep[p].values[i] for p, i in zip(paths, idx, strict=True)}
        point = sweep.isel(dict(zip(paths, idx, strict=True)))
        num = int(point["job_num"]) if "job_num" in point else -1
        status = str(point["job_status"].values) if "job_status" in point else ""
        e = h.estimate(point, "p_deterrence") if status in ("ok", "") else None
        cells = [str(num)] + [h.esc(v) for v in sel.values()] + [h.esc(status)]
        cells.append(h.esc(e.words()) if e else "–")
        cells.append(h.esc(str(point["job_reason"].values)) if "job_reason" in point else "")
        rows.append(cells)
        attrs.append(f'id="sweep-point-{num}" {e.attrs() if e else ""}')
    header = ["job", *(config_path(sweep, d) for d in paths), "status", "P(deterrence holds)"]
    header.append("reason")
    return h.table(header, rows, "sweep-points", attrs, raw=True)


def sweep_page(sweep: xr.Dataset) -> str:
    """The HTML text of ``sweep.html``."""
    paths = swept_paths(sweep)
    x_dims = [p for p in paths if sweep.sizes[p] > 1] or paths[:1]
    outputs = [o for o in OUTPUTS if o in sweep and DRAW in sweep[o].dims]
    if "p_attack_within_horizon" in outputs and "p_attack" in outputs:
        outputs.remove("p_attack")
    grid = ['<div class="sweep-grid" style="display:grid;grid-template-columns:']
    grid.append(f'repeat({len(x_dims)}, minmax(420px, 1fr));gap:8px">')
    for name in outputs:
        for x in x_dims:
            fig = sweep_figure(sweep, name, x)
            div = h.figure_div(fig, f"fig-{name}-{paths.index(x)}")
            grid.append(f'<div class="plot" data-sweep-x="{h.esc(x)}">{div}</div>')
    grid.append("</div>")
    crn = (
        "Every point used the same seed (common random numbers), so differences between points "
        "are not Monte Carlo noise of different random numbers."
        if sweep.attrs.get("common_random_numbers", 0)
        else f"The points use different seeds ({sweep.attrs.get('seeds', '')})."
    )
    intro = (
        f"Each point: the mean over epistemic draws (whiskers ±2 Monte Carlo errors of the mean, "
        f"from the draws and the crises both); band: the {LEVEL:.0%} interval across draws. For "
        f"an output given an attack, the dashed line (or open diamond) is the probability once "
        f"an attack is seen, each draw weighted by its P(attack) at that point. Hover over a "
        f"point to see the same swept value in every plot of its column; zoom one plot of a "
        f"column to zoom them all. {crn}"
    )
    problems = [
        s for k in ("failed_jobs", "missing_jobs") for s in str(sweep.attrs.get(k, "")).split("\n")
    ]
    problems = [p for p in problems if p]
    warn = '<p class="warn">' + "<br>".join(map(h.esc, problems)) + "</p>" if problems else ""
    swept = "; ".join(
        f"{config_path(sweep, d)} = {', '.join(map(str, sweep[d].values))}" for d in paths
    )
    sections = [
        ("curves", "Curves", h.section("curves", "Each output against each swept path",
                                       warn + "".join(grid), intro)),
        ("points", "Points", h.section("points", "The points of the sweep",
                                       _points_table(sweep, paths))),
    ]  # fmt: skip
    sub = [
        f"{sweep.attrs.get('n_jobs_ok', '')} of {sweep.attrs.get('n_jobs', '')} jobs; swept: "
        f"{swept}",
        briefing.size_line(sweep) if "realizations" in sweep.attrs else "",
    ]
    by_scenario = "scenario" in [config_path(sweep, d) for d in paths]
    title = "Sweep over scenarios" if by_scenario else "Sweep: " + briefing.title(sweep)
    text = h.page(title, sub, sections, h.footer(sweep.attrs))
    return text.replace("</body>", f"<script>{_LINK}</script></body>")


def write_sweep_html(sweep: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``sweep.html`` atomically."""
    return h.write_page(sweep_page(sweep), path)
