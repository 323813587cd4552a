"""Plotly figures of a run for the HTML pages: Datasets in, ``plotly.graph_objects.Figure`` out.

Each figure's hover says the numbers in words (mean, interval across draws, Monte Carlo error).
Variables are looked up by name; a figure whose data a run lacks is not drawn (None).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from forecast.results import dataset as results
from forecast.results import html as h
from forecast.results.labels import LEVEL, interval, parameter_label, quantity_label, state_names

DRAW, ACTOR, QUANTILE = results.DRAW, results.ACTOR, results.QUANTILE
_PARAMETERS = (
    "willingness",
    "willingness_perceived",
    "capability",
    "delay",
    "capability_target",
    "capability_aggressor",
    "fait_accompli",
    "prize",
    "cost",
    "decision_noise",
)


def _go():
    import plotly.graph_objects as go

    return go


def _hover(e: h.Estimate, who: str = "") -> str:
    head = f"<b>{h.esc(who)}</b><br>" if who else ""
    se = f"<br>Monte Carlo error ±{h.fmt_se(e.mcse)}" if e.mcse is not None else ""
    return f"{head}{h.esc(e.label)}: {h.fmt_p(e.mean, 3)}<br>{LEVEL:.0%} interval " + (
        f"{h.fmt_p(e.lo, 3)}–{h.fmt_p(e.hi, 3)}{se}"
    )


def partners(ds: xr.Dataset, names: list[str], short: Callable[[str], str]):
    """Dots with interval whiskers: one row per partner, one colour per variable."""
    names = [n for n in names if n in ds and ds[n].dims == (DRAW, ACTOR)]
    if not names:
        return None
    go = _go()
    codes = [str(a) for a in ds[ACTOR].values]
    full = state_names(ds)
    fig = go.Figure()
    y = np.arange(len(codes))
    low = 0.0  # pivotality is a difference of probabilities: the axis reaches its lowest value
    for k, n in enumerate(names):
        ests = [h.estimate(ds, n, {ACTOR: a}) for a in codes]
        ok = [i for i, e in enumerate(ests) if e is not None]
        low = min([low, *(float(ests[i].lo) for i in ok)])
        off = (k - (len(names) - 1) / 2) * 0.7 / len(names)
        mean = np.array([ests[i].mean for i in ok])
        fig.add_trace(
            go.Scatter(
                x=mean,
                y=y[ok] + off,
                mode="markers",
                name=short(n),
                marker={"size": 10, "color": h.color(k)},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [ests[i].hi - ests[i].mean for i in ok],
                    "arrayminus": [ests[i].mean - ests[i].lo for i in ok],
                    "thickness": 1.5,
                },
                hovertext=[_hover(ests[i], full.get(codes[i], codes[i])) for i in ok],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title=f"The partners: mean and {LEVEL:.0%} interval across epistemic draws",
        height=160 + 70 * len(codes),
        xaxis={
            "range": [low - 0.02 if low < 0 else 0.0, 1],
            "title": "probability; pivotality: a difference of probabilities"
            if any(n.startswith("pivotality") for n in names)
            else "probability",
            "zeroline": True,
        },
        yaxis={
            "tickvals": list(y),
            "ticktext": [full.get(a, a) for a in codes],
            "autorange": "reversed",
        },
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def grouped_bars(ds: xr.Dataset, name: str, dim: str, heading: str):
    """Bars of ``name`` by partner, one colour per value of ``dim`` (attack type, kind of help),
    with the interval across draws as whiskers. A pivotality is a difference of probabilities,
    which may be negative: its axis is scaled to the data and marks 0."""
    go = _go()
    codes = [str(a) for a in ds[ACTOR].values]
    full = state_names(ds)
    fig = go.Figure()
    other = [d for d in ds[name].dims if d not in (DRAW, ACTOR, dim)]
    da = ds[name].mean(other) if other else ds[name]
    for k, v in enumerate(map(str, ds[dim].values)):
        sub = da.sel({dim: v})
        mean, lo, hi = (x.values for x in interval(sub, DRAW))
        text = [
            f"<b>{h.esc(full.get(a, a))}</b>, {h.esc(v)}<br>{h.esc(quantity_label(name))}: "
            f"{h.fmt_p(m, 3)}<br>{LEVEL:.0%} interval {h.fmt_p(lo_, 3)}–{h.fmt_p(hi_, 3)}"
            for a, m, lo_, hi_ in zip(codes, mean, lo, hi, strict=True)
        ]
        fig.add_trace(
            go.Bar(
                x=[full.get(a, a) for a in codes],
                y=mean,
                name=v,
                marker_color=h.color(k),
                error_y={"type": "data", "symmetric": False, "array": hi - mean},
                hovertext=text,
                hoverinfo="text",
            )
        )
        fig.data[-1].error_y.arrayminus = mean - lo
    fig.update_layout(
        barmode="group",
        title=f"{heading}, by {dim.replace('_', ' ')} (mean, {LEVEL:.0%} interval)",
        yaxis=(
            {"title": "difference of probabilities", "zeroline": True, "zerolinewidth": 2}
            if name.startswith("pivotality")
            else {"range": [0, 1], "title": "probability"}
        ),
        height=420,
    )
    return fig


def histograms(ds: xr.Dataset, names: list[str]):
    """The per-draw values of (draw,) probabilities, overlaid, with each mean marked."""
    go = _go()
    fig = go.Figure()
    for k, n in enumerate(names):
        e = h.estimate(ds, n)
        fig.add_trace(
            go.Histogram(
                x=ds[n].values,
                name=f"{quantity_label(n)}, mean {h.fmt_p(e.mean)}" if e else quantity_label(n),
                xbins={"start": 0, "end": 1.0001, "size": 0.04},
                opacity=0.55,
                marker_color=h.color(k),
                hovertemplate="%{y} draws with %{x}<extra>" + quantity_label(n) + "</extra>",
            )
        )
        if e is not None:
            fig.add_vline(x=e.mean, line={"color": h.color(k), "width": 3})
    fig.update_layout(
        barmode="overlay",
        title="One value per epistemic draw",
        xaxis={"range": [0, 1], "title": "probability in the draw"},
        yaxis={"title": "number of draws"},
        height=420,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def draw_parameters(ds: xr.Dataset) -> list[tuple[str, np.ndarray]]:
    """(label, per-draw values) of every belief parameter the run records: the sensitivity
    analysis's parameters when it ran, else the known ones; then any other variable the results
    describe as "the draw's ..." (parameters added by later versions)."""
    out, names = [], state_names(ds)
    if "parameter_value" in ds and "parameter" in ds.dims:
        paths = ds["parameter_path"].values if "parameter_path" in ds.coords else None
        out = [
            (
                parameter_label(str(p), str(paths[j]) if paths is not None else "", ds),
                ds["parameter_value"].isel(parameter=j).values,
            )
            for j, p in enumerate(ds["parameter"].values)
        ]
        wanted = []
    else:
        wanted = list(_PARAMETERS)
    wanted += [
        str(v)
        for v in ds.data_vars
        if str(ds[v].attrs.get("description", "")).startswith("the draw's")
        and str(v) not in _PARAMETERS
    ]
    for name in dict.fromkeys(wanted):
        if name not in ds or DRAW not in ds[name].dims:
            continue
        da = ds[name]
        if da.dims == (DRAW,):
            out.append((name.replace("_", " "), da.values))
        elif da.dims == (DRAW, ACTOR):
            for a in map(str, ds[ACTOR].values):
                label = f"{names.get(a, a)} {name.replace('_', ' ')}"
                out.append((label, da.sel({ACTOR: a}).values))
        elif da.dims == (DRAW, results.ATTACK_TYPE):  # the aggressor's beliefs by attack type
            for t in map(str, ds[results.ATTACK_TYPE].values):
                label = f"aggressor {name.replace('_', ' ')} ({t})"
                out.append((label, da.sel({results.ATTACK_TYPE: t}).values))
    return out


def draw_scatter(ds: xr.Dataset):
    """Each draw as a point: its P(attack within the horizon) (else its P(attack)) against its
    P(defence succeeds); the hover lists the draw's beliefs."""
    x = next((n for n in ("p_attack_within_horizon", "p_attack") if n in ds), None)
    y = "p_defense_success"
    if x is None or y not in ds or ds[x].dims != (DRAW,) or ds[y].dims != (DRAW,):
        return None
    go = _go()
    params = draw_parameters(ds)
    text = []
    for d in range(ds.sizes[DRAW]):
        lines = [f"<b>draw {d}</b>", f"{quantity_label(x)}: {h.fmt_p(ds[x].values[d], 3)}"]
        lines.append(f"{quantity_label(y)}: {h.fmt_p(ds[y].values[d], 3)}")
        # every belief (Taiwan has some 30): a hover is read one draw at a time
        lines += [f"{h.esc(lab)}: {h.fmt_num(v[d])}" for lab, v in params[:48]]
        text.append("<br>".join(lines))
    colour = ds["p_deterrence"].values if "p_deterrence" in ds else None
    fig = go.Figure(
        go.Scatter(
            x=ds[x].values,
            y=ds[y].values,
            mode="markers",
            marker={
                "size": 9,
                "color": colour,
                "colorscale": "Viridis",
                "showscale": colour is not None,
                "colorbar": {"title": "P(deterrence)"},
            },
            hovertext=text,
            hoverinfo="text",
            name="draws",
        )
    )
    fig.update_layout(
        title="Each epistemic draw: the aggressor's choice against the defence's chance",
        xaxis={"range": [0, 1], "title": quantity_label(x)},
        yaxis={"range": [0, 1], "title": quantity_label(y)},
        height=460,
    )
    return fig


def power_ratio(ds: xr.Dataset):
    """Boxes across draws of each within-draw quantile of coalition power / aggressor power."""
    go = _go()
    r = ds["coalition_power_ratio"]
    fig = go.Figure()
    for k, q in enumerate(r[QUANTILE].values):
        label = "median crisis" if abs(q - 0.5) < 1e-9 else f"{q:.0%} of crises below"
        fig.add_trace(
            go.Box(
                y=r.sel({QUANTILE: q}).values,
                name=label,
                marker_color=h.color(k),
                boxpoints="all",
                jitter=0.4,
                hovertemplate="draw's value %{y:.3g}<extra>" + label + "</extra>",
            )
        )
    fig.add_hline(y=1, line={"dash": "dash"}, annotation_text="parity with the aggressor")
    fig.update_layout(
        title="Coalition power / the aggressor's power at the decisive time",
        yaxis={
            "type": "log",
            "title": "ratio (log scale)",
            "tickvals": [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100],
        },
        showlegend=False,
        height=440,
    )
    return fig


def tornado(ds: xr.Dataset):
    """The tornado of the run's sensitivity analysis, with the first-order indices beside it."""
    from plotly.subplots import make_subplots

    go = _go()
    base = float(ds["tornado_base"])
    low, high = ds["tornado_low"].values, ds["tornado_high"].values
    order = np.argsort(-np.abs(high - low))
    paths = ds["parameter_path"].values if "parameter_path" in ds.coords else None
    labels = [
        parameter_label(str(p), str(paths[j]) if paths is not None else "", ds)
        for j, p in enumerate(ds["parameter"].values)
    ]
    ylab = [labels[j] for j in order]
    q = str(ds["tornado_base"].attrs.get("quantity", "p_deterrence"))
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        column_widths=[0.62, 0.38],
        subplot_titles=("One belief moved, the others at their medians", "First-order index"),
    )
    for side, vals, colour in (("low", low, "#d62728"), ("high", high, "#1f77b4")):
        qq = ds[f"tornado_{side}"].attrs.get("quantile", 0.05 if side == "low" else 0.95)
        at = ds.get(f"tornado_value_{side}")
        err = ds.get(f"mcse_tornado_{side}_diff", ds.get(f"mcse_tornado_{side}"))
        text = []
        for j in order:
            v = f" = {h.fmt_num(float(at.values[j]))}" if at is not None else ""
            se = f" (±2 MCSE {h.fmt_se(2 * float(err.values[j]))})" if err is not None else ""
            text.append(
                f"<b>{h.esc(labels[j])}</b> at its {qq:.0%} quantile{v}<br>"
                f"{h.esc(quantity_label(q))}: {h.fmt_p(vals[j], 3)}, change "
                f"{vals[j] - base:+.3f}{se}"
            )
        fig.add_trace(
            go.Bar(
                y=ylab,
                x=vals[order] - base,
                base=base,
                orientation="h",
                name=f"belief at its {qq:.0%} quantile",
                marker_color=colour,
                hovertext=text,
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )
    if "sensitivity_first_order" in ds:
        s1 = ds["sensitivity_first_order"].values[order]
        se = ds.get("sensitivity_first_order_se")
        fig.add_trace(
            go.Bar(
                y=ylab,
                x=s1,
                orientation="h",
                name="first-order index (±2 bootstrap SE)",
                marker_color="#888",
                error_x={"type": "data", "array": 2 * np.nan_to_num(se.values[order])}
                if se is not None
                else None,
                hovertemplate="%{y}: S = %{x:.3f}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    fig.add_vline(x=base, line={"color": "black"}, row=1, col=1)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=f"{quantity_label(q)} (base {base:.3f})", row=1, col=1)
    fig.update_xaxes(title_text="Var(E[P | belief]) / Var(P)", row=1, col=2)
    fig.update_layout(
        barmode="overlay",
        height=180 + 34 * len(order),
        title=f"Which belief moves {quantity_label(q)}?",
        legend={"orientation": "h", "y": -0.08},
        margin={"l": 260},
    )
    return fig


def threshold(ds: xr.Dataset):
    """The threshold search: the mean curve, the spread of one draw's value, the target."""
    go = _go()
    t = ds["threshold"].attrs
    x = ds["threshold_value"].values
    fig = go.Figure()
    if "threshold_curve_draw" in ds:
        cd = ds["threshold_curve_draw"]
        lo = cd.quantile((1 - LEVEL) / 2, DRAW).values
        hi = cd.quantile((1 + LEVEL) / 2, DRAW).values
        fig.add_trace(go.Scatter(x=x, y=hi, mode="lines", line={"width": 0}, showlegend=False))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=lo,
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(31,119,180,0.2)",
                name=f"one draw's value, {LEVEL:.0%} interval",
            )
        )
    se = ds.get("mcse_threshold_curve")
    fig.add_trace(
        go.Scatter(
            x=x,
            y=ds["threshold_curve"].values,
            mode="lines+markers",
            name="mean over draws",
            error_y={"type": "data", "array": 2 * se.values} if se is not None else None,
        )
    )
    fig.add_hline(y=float(t.get("target", np.nan)), line={"dash": "dash"}, annotation_text="target")
    v = float(ds["threshold"])
    if np.isfinite(v):
        fig.add_vline(x=v, line={"color": "#d62728"}, annotation_text=f"threshold {v:.3g}")
    fig.update_layout(
        title=f"What must be true for {quantity_label(str(t.get('quantity', '')))} to reach "
        f"{t.get('target', '')}?",
        xaxis={"title": str(t.get("parameter", ""))},
        yaxis={"range": [0, 1], "title": quantity_label(str(t.get("quantity", "")))},
        height=440,
    )
    return fig


def war_course(ds: xr.Dataset):
    """The war over its phases: P(the aggressor holds the objective at each phase's end) and
    P(the war ends in it), mean and 90% interval across draws, and the coalition's mean power."""
    from plotly.subplots import make_subplots

    go = _go()
    phase = "phase"
    names = [str(p) for p in ds[phase].values]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        "probability given an attack: mean and 90% interval across draws",
        "coalition power in the phase, over the wars that reach it",
    ))  # fmt: skip
    for k, (name, label) in enumerate(
        (
            ("p_holds_objective", "the aggressor holds the objective at the phase's end"),
            ("p_decided_in_phase", "the war ends in the phase"),
        )
    ):
        da = ds[name]
        m = da.mean("draw").values
        lo, hi = (da.quantile(q, "draw").values for q in (0.05, 0.95))
        fig.add_trace(
            go.Scatter(
                x=names,
                y=m,
                name=label,
                mode="lines+markers",
                marker_color=h.color(k),
                error_y={"type": "data", "symmetric": False, "array": hi - m,
                         "arrayminus": m - lo},
                hovertemplate="%{x}: %{y:.3f}<extra>" + label + "</extra>",
            ),
            row=1,
            col=1,
        )  # fmt: skip
    power = ds["coalition_power_by_phase"]
    fig.add_trace(
        go.Bar(
            x=names,
            y=power.mean("draw", skipna=True).values,
            name="coalition power (mean over draws)",
            marker_color=h.color(2),
            hovertemplate="%{x}: %{y:.3g}<extra>coalition power</extra>",
        ),
        row=1,
        col=2,
    )
    fig.update_yaxes(range=[0, 1], title_text="probability", row=1, col=1)
    fig.update_yaxes(title_text="power (capability units)", row=1, col=2)
    fig.update_layout(height=440, legend={"orientation": "h"})
    return fig
