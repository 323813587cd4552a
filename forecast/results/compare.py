"""Runs side by side: ``compare.html`` and ``compare.csv`` of ``forecast-compare RUN_A RUN_B ...``.

The first run is the baseline; every other run is compared with it. When two runs share the seed
and the number of draws, draw d of both used the same random numbers (common random numbers: the
same epistemic draw stream and the same crises), so the difference is taken draw by draw: its
mean, the interval of the per-draw differences, and the standard error of the mean difference,
sd(d) / sqrt(D), which covers both the choice of draws and the chance within them and is far
smaller than the unpaired one when the runs are close. Runs with different seeds are compared
unpaired: the standard error is sqrt(var_A / D_A + var_B / D_B), and there is no per-draw
difference.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast import storage
from forecast.config import ConfigError
from forecast.results import briefing
from forecast.results import dataset as results
from forecast.results import html as h
from forecast.results.labels import LEVEL, quantity_label, state_names

DRAW, ACTOR = results.DRAW, results.ACTOR
HEADLINE = ("p_deterrence", *briefing.HEADLINE[1], *briefing.MORE_CARDS)


@dataclass
class Run:
    label: str
    path: Path
    ds: xr.Dataset


def load_runs(paths: list[str | os.PathLike], filename: str = "forecast.nc") -> list[Run]:
    """Open each run (a run directory holding ``filename``, or a result file itself).

    Raises :class:`ConfigError` listing every path that is not a readable result.
    """
    problems, runs = [], []
    if len(paths) < 2:
        problems.append(f"forecast-compare needs at least two runs, got {len(paths)}")
    for p in map(Path, paths):
        f = p / filename if p.is_dir() else p
        if not f.is_file():
            problems.append(f"{str(p)!r}: no {filename} there (expected a run directory)")
            continue
        try:
            ds = storage.read(f)
        except Exception as exc:  # any failure to open means it is not a result
            problems.append(f"{str(f)!r}: not a readable result ({type(exc).__name__})")
            continue
        if "p_deterrence" not in ds or DRAW not in ds.dims:
            problems.append(f"{str(f)!r}: holds no p_deterrence over draws")
            continue
        runs.append(Run(f.parent.name if f.name == filename else f.stem, f, ds))
    if problems:
        raise ConfigError(problems)
    seen: dict[str, int] = {}
    for r in runs:  # two runs of the same name: name them by their folders
        seen[r.label] = seen.get(r.label, 0) + 1
    for r in runs:
        if seen[r.label] > 1:
            r.label = f"{r.path.parent.parent.name}/{r.label}"
    return runs


def paired(a: xr.Dataset, b: xr.Dataset) -> bool:
    """Whether draw d of ``a`` and of ``b`` share their random numbers."""
    return str(a.attrs.get("seed")) == str(b.attrs.get("seed")) and a.sizes[DRAW] == b.sizes[DRAW]


def _values(ds: xr.Dataset, name: str, sel: dict) -> np.ndarray | None:
    if name not in ds:
        return None
    da = ds[name]
    if any(k in da.dims and v not in da[k].values for k, v in sel.items()):
        return None
    da = da.sel({k: v for k, v in sel.items() if k in da.dims})
    return da.values if da.dims == (DRAW,) else None


def difference(a: xr.Dataset, b: xr.Dataset, name: str, sel: dict | None = None) -> dict | None:
    """B - A for variable ``name`` at ``sel``: mean, interval of per-draw differences (paired
    only), standard error of the mean difference, and whether it is paired."""
    sel = sel or {}
    va, vb = _values(a, name, sel), _values(b, name, sel)
    if va is None or vb is None:
        return None
    lo_q, hi_q = (1 - LEVEL) / 2, (1 + LEVEL) / 2
    if paired(a, b):
        d = vb - va
        d = d[np.isfinite(d)]
        if d.size == 0:
            return None
        return {
            "diff_mean": float(d.mean()),
            "diff_lo": float(np.quantile(d, lo_q)),
            "diff_hi": float(np.quantile(d, hi_q)),
            "diff_se": float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan,
            "share_higher": float((d > 0).mean()),
            "paired": True,
        }
    se = math.sqrt(np.var(va, ddof=1) / va.size + np.var(vb, ddof=1) / vb.size)
    return {
        "diff_mean": float(vb.mean() - va.mean()),
        "diff_lo": math.nan,
        "diff_hi": math.nan,
        "diff_se": se,
        "share_higher": math.nan,
        "paired": False,
    }


def _given_pair(ds: xr.Dataset, name: str, sel: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """Every draw's value of ``name`` at ``sel`` and its weight once an attack is seen
    (:func:`forecast.results.dataset.attack_weights`), NaN left in; None for an output that
    does not condition on an attack."""
    w, x = results.attack_weights(ds, name, sel), _values(ds, name, sel)
    if w is None or x is None or w.dims != (DRAW,):
        return None
    return x.astype(float), w.values.astype(float)


def _influence(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Each draw's part in the error of R = sum(w x) / sum(w): w (x - R) / mean(w), whose sd
    over sqrt(D) is R's delta-method standard error (as in
    :func:`forecast.results.dataset.if_attacked_error`)."""
    r = (w * x).sum() / w.sum()
    return w * (x - r) / w.mean()


def if_attacked_difference(
    a: xr.Dataset, b: xr.Dataset, name: str, sel: dict | None = None
) -> tuple[float, float] | None:
    """B - A of ``name`` at ``sel`` once an attack is seen (each run weighting its draws by its
    own P(attack)), and the standard error of that difference. Paired runs (the same seed and
    draws) take it from the per-draw differences of the two ratios' influences, so the common
    random numbers cancel as in the plain difference; unpaired runs add the two errors in
    quadrature. None for an output that does not condition on an attack; the error is NaN
    with fewer than two usable draws or weights summing to 0."""
    sel = sel or {}
    if _values(a, name, sel) is None or _values(b, name, sel) is None:  # not in both runs
        return None
    ra, rb = results.if_attacked(a, name, sel), results.if_attacked(b, name, sel)
    if ra is None or rb is None:
        return None
    se = math.nan
    if paired(a, b):
        pa, pb = _given_pair(a, name, sel), _given_pair(b, name, sel)
        if pa is not None and pb is not None:
            ok = np.isfinite(pa[0]) & np.isfinite(pa[1]) & np.isfinite(pb[0]) & np.isfinite(pb[1])
            (xa, wa), (xb, wb) = (v[ok] for v in pa), (v[ok] for v in pb)
            if ok.sum() > 1 and wa.sum() > 0.0 and wb.sum() > 0.0:
                d = _influence(xb, wb) - _influence(xa, wa)
                se = float(d.std(ddof=1) / math.sqrt(d.size))
    else:
        ea, eb = results.if_attacked_error(a, name, sel), results.if_attacked_error(b, name, sel)
        if ea is not None and eb is not None:
            se = math.hypot(ea, eb)
    return rb - ra, se


def _rows_of(runs: list[Run]) -> list[tuple[str, str]]:
    """(quantity, actor) of every row: the headline numbers, then the partners'."""
    rows = [(q, "") for q in HEADLINE if any(_values(r.ds, q, {}) is not None for r in runs)]
    actors: list[str] = []
    for r in runs:
        actors += [str(a) for a in r.ds[ACTOR].values if str(a) not in actors]
    for a in actors:
        has = [
            v
            for v in briefing.PARTNER_VARIABLES
            if any(_values(r.ds, v, {ACTOR: a}) is not None for r in runs)
        ]
        rows += [(v, a) for v in has]
    return rows


def compare_frame(runs: list[Run]) -> pd.DataFrame:
    """The table of ``compare.csv``: one row per run, quantity and actor, with the difference
    from the first run (the baseline)."""
    base = runs[0]
    out = []
    for q, a in _rows_of(runs):
        sel = {ACTOR: a} if a else {}
        for r in runs:
            e = h.estimate(r.ds, q, sel)
            row = {
                "run": r.label,
                "path": str(r.path),
                "quantity": q,
                "actor": a,
                "mean": e.mean if e else math.nan,
                f"q{(1 - LEVEL) / 2 * 100:02.0f}": e.lo if e else math.nan,
                f"q{(1 + LEVEL) / 2 * 100:02.0f}": e.hi if e else math.nan,
                "mcse": e.mcse if e and e.mcse is not None else math.nan,
                "baseline": base.label,
            }
            d = difference(base.ds, r.ds, q, sel) if r is not base else None
            row.update(
                d
                or {
                    "diff_mean": math.nan,
                    "diff_lo": math.nan,
                    "diff_hi": math.nan,
                    "diff_se": math.nan,
                    "share_higher": math.nan,
                    "paired": None,
                }
            )
            # added after the columns of earlier versions, which keep their places
            row["se_mean"] = e.se if e and e.se is not None else math.nan
            row["if_attacked"] = e.if_attacked if e and e.if_attacked is not None else math.nan
            # the difference once an attack is seen: each run weights its draws by its P(attack)
            given = if_attacked_difference(base.ds, r.ds, q, sel) if r is not base else None
            row["if_attacked_diff"], row["if_attacked_diff_se"] = given or (math.nan, math.nan)
            out.append(row)
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------------------------
# compare.html
# ----------------------------------------------------------------------------------------------


def _headline_table(runs: list[Run], rows: list[tuple[str, str]]) -> str:
    body = []
    for q, _ in [r for r in rows if not r[1]]:
        cells = [f"<b>{h.esc(quantity_label(q))}</b>"]
        for k, r in enumerate(runs):
            e = h.estimate(r.ds, q)
            cells.append(
                f'<span id="compare-{k}-{q}" {e.attrs()}>{h.esc(e.words())}<br><small>'
                f"{h.esc(_error_words(e))}</small>{_given_words(e)}</span>"
                if e
                else "–"
            )
        body.append(cells)
    return h.table(["quantity"] + [r.label for r in runs], body, "compare-headline", raw=True)


def _error_words(e: h.Estimate) -> str:
    """The mean's Monte Carlo error in words: the whole of it, and the crises' part."""
    if e.se is None:
        return f"Monte Carlo error, the crises' part ±{h.fmt_se(e.mcse)}"
    within = f" (the crises' part ±{h.fmt_se(e.mcse)})" if e.mcse is not None else ""
    return f"Monte Carlo error of the mean ±{h.fmt_se(e.se)}{within}"


def _given_words(e: h.Estimate) -> str:
    """A cell's line for the probability once an attack is seen ("" when it has none)."""
    if e.if_attacked is None:
        return ""
    return f'<br><small class="if-attacked">once an attack is seen {h.fmt_p(e.if_attacked)}</small>'


def _difference_cards(runs: list[Run], rows: list[tuple[str, str]]) -> str:
    cards = []
    base = runs[0]
    for k, r in enumerate(runs[1:], start=1):
        attack = next((q for q in briefing.HEADLINE[1] if q in base.ds and q in r.ds), None)
        for q in ("p_deterrence", attack):
            d = difference(base.ds, r.ds, q) if q else None
            if d is None:
                continue
            how = (
                f"{LEVEL:.0%} interval of the per-draw differences {d['diff_lo']:+.2f} to "
                f"{d['diff_hi']:+.2f}; higher in {d['share_higher']:.0%} of draws; paired draws "
                "(same seed: common random numbers)"
                if d["paired"]
                else "different seeds or draws: unpaired, no per-draw difference"
            )
            cards.append(
                f'<div class="card" id="diff-{k}-{q}" '
                f'data-diff-mean="{h.data_value(d["diff_mean"])}"'
                f' data-diff-lo="{h.data_value(d["diff_lo"])}" data-diff-hi='
                f'"{h.data_value(d["diff_hi"])}" data-diff-se="{h.data_value(d["diff_se"])}" '
                f'data-paired="{int(d["paired"])}"><div class="card-label">{h.esc(r.label)} − '
                f"{h.esc(base.label)}: {h.esc(quantity_label(q))}</div>"
                f'<div class="card-value">{d["diff_mean"]:+.3f}</div><div class="card-words">'
                f"standard error {h.fmt_se(d['diff_se'])}</div>"
                f'<div class="card-note">{h.esc(how)}</div></div>'
            )
    return f'<div class="cards">{"".join(cards)}</div>'


def _partner_table(runs: list[Run], rows: list[tuple[str, str]]) -> str:
    names: dict[str, str] = {}
    for r in runs:
        names.update(state_names(r.ds))
    body = []
    for q, a in [r for r in rows if r[1]]:
        cells = [f"<b>{h.esc(names.get(a, a))}</b>", h.esc(briefing.short_label(q))]
        for k, r in enumerate(runs):
            e = (
                h.estimate(r.ds, q, {ACTOR: a})
                if _values(r.ds, q, {ACTOR: a}) is not None
                else None
            )
            cells.append(
                f'<span id="compare-{k}-{q}-{a}" {e.attrs()}>{h.esc(e.short())}'
                f"{_given_words(e)}</span>"
                if e
                else "–"
            )
        for r in runs[1:]:
            d = difference(runs[0].ds, r.ds, q, {ACTOR: a})
            cells.append(f"{d['diff_mean']:+.3f} (±{h.fmt_se(d['diff_se'])})" if d else "–")
        body.append(cells)
    header = ["partner", "quantity"] + [f"{r.label}, mean [{LEVEL:.0%}]" for r in runs]
    header += [f"{r.label} − {runs[0].label}" for r in runs[1:]]
    return h.table(header, body, "compare-partners", raw=True)


def runs_dots(runs: list[Run], quantities: list[str]):
    """Each headline quantity, one colour per run: the mean and the interval across draws."""
    import plotly.graph_objects as go

    fig = go.Figure()
    y = np.arange(len(quantities))
    for k, r in enumerate(runs):
        ests = [h.estimate(r.ds, q) for q in quantities]
        ok = [i for i, e in enumerate(ests) if e is not None]
        off = (k - (len(runs) - 1) / 2) * 0.6 / len(runs)
        fig.add_trace(
            go.Scatter(
                x=[ests[i].mean for i in ok],
                y=y[ok] + off,
                mode="markers",
                name=r.label,
                marker={"size": 11, "color": h.color(k)},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [ests[i].hi - ests[i].mean for i in ok],
                    "arrayminus": [ests[i].mean - ests[i].lo for i in ok],
                },
                hovertext=[
                    f"<b>{h.esc(r.label)}</b><br>{h.esc(ests[i].label)}: {h.esc(ests[i].words())}"
                    f"<br>Monte Carlo error ±{h.fmt_se(ests[i].mcse)}"
                    for i in ok
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title=f"Mean and {LEVEL:.0%} interval across epistemic draws, run by run",
        xaxis={"range": [0, 1], "title": "probability"},
        yaxis={
            "tickvals": list(y),
            "ticktext": [quantity_label(q) for q in quantities],
            "autorange": "reversed",
        },
        height=160 + 60 * len(quantities),
        legend={"orientation": "h", "y": -0.15},
        margin={"l": 300},
    )
    return fig


def paired_differences(runs: list[Run], name: str):
    """The per-draw differences from the baseline of the runs paired with it (None: none is)."""
    import plotly.graph_objects as go

    base = runs[0]
    fig = go.Figure()
    for k, r in enumerate(runs[1:], start=1):
        va, vb = _values(base.ds, name, {}), _values(r.ds, name, {})
        if va is None or vb is None or not paired(base.ds, r.ds):
            continue
        d = vb - va
        fig.add_trace(
            go.Box(
                x=d,
                name=f"{r.label} − {base.label}",
                boxpoints="all",
                jitter=0.5,
                marker_color=h.color(k),
                text=[f"draw {i}" for i in range(d.size)],
                hovertemplate="%{text}: %{x:+.3f}<extra></extra>",
            )
        )
    if not fig.data:
        return None
    fig.add_vline(x=0, line={"color": "black"})
    fig.update_layout(
        title=f"{quantity_label(name)}: the difference in each draw (same random numbers)",
        xaxis={"title": "difference from the baseline, draw by draw"},
        showlegend=False,
        height=200 + 90 * len(fig.data),
        margin={"l": 240},
    )
    return fig


def _flat(node, prefix: str = "") -> dict[str, str]:
    if isinstance(node, dict):
        out: dict[str, str] = {}
        for k, v in node.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: str(node)}


def config_differences(a: xr.Dataset, b: xr.Dataset) -> list[tuple[str, str, str]]:
    """(config path, value in ``a``, value in ``b``) wherever the runs' resolved configs differ
    (the sampler's progress bar aside)."""
    from forecast.results.labels import config_of

    fa, fb = _flat(config_of(a)), _flat(config_of(b))
    keys = dict.fromkeys([*fa, *fb])
    return [
        (k, fa.get(k, "(not set)"), fb.get(k, "(not set)"))
        for k in keys
        if fa.get(k) != fb.get(k) and not k.endswith(".progress")
    ]


def compare_page(runs: list[Run]) -> str:
    """The HTML text of ``compare.html``."""
    rows = _rows_of(runs)
    crn = [r.label for r in runs[1:] if paired(runs[0].ds, r.ds)]
    intro = (
        f"Baseline: {h.esc(runs[0].label)}. Each number: the mean over epistemic draws, its "
        f"{LEVEL:.0%} interval across them and the Monte Carlo error. "
        + (
            f"Paired with the baseline draw by draw (same seed): {h.esc(', '.join(crn))}."
            if crn
            else "No run shares the baseline's seed, so differences are unpaired."
        )
    )
    head = _headline_table(runs, rows) + _difference_cards(runs, rows)
    head += h.figure_div(runs_dots(runs, [q for q, a in rows if not a]), "fig-compare")
    diff_fig = paired_differences(runs, "p_deterrence")
    if diff_fig is not None:
        head += h.figure_div(diff_fig, "fig-differences")
    sections = [
        ("headline", "Answer", h.section("headline", "The answer, run by run", head, intro))
    ]
    if any(a for _, a in rows):
        sections.append(
            ("partners", "Partners", h.section("partners", "Who comes", _partner_table(runs, rows)))
        )
    where = h.table(
        ["run", "file", "seed", "draws", "scenario", "git revision", "created"],
        [
            [r.label, str(r.path), str(r.ds.attrs.get("seed", "")), str(r.ds.sizes[DRAW])]
            + [str(r.ds.attrs.get(k, "")) for k in ("scenario", "git_revision", "created")]
            for r in runs
        ],
        "compare-runs",
    )
    for r in runs[1:]:
        diffs = config_differences(runs[0].ds, r.ds)
        where += f"<h3>{h.esc(r.label)} against {h.esc(runs[0].label)}: what the configs set</h3>"
        where += (
            h.table(["config path", runs[0].label, r.label], [list(d) for d in diffs[:200]])
            if diffs
            else "<p>The resolved configs are the same.</p>"
        )
    sections.append(("runs", "Runs", h.section("runs", "The runs", where)))
    title = "Comparison: " + " vs ".join(r.label for r in runs)
    return h.page(title, [briefing.title(runs[0].ds)], sections, h.footer(runs[0].ds.attrs))


def write_compare(runs: list[Run], out_dir: str | os.PathLike) -> list[Path]:
    """Write ``compare.html`` and ``compare.csv`` into ``out_dir`` atomically."""
    out = Path(out_dir)
    frame = compare_frame(runs)
    csv = storage.replace_atomically(out / "compare.csv", lambda t: frame.to_csv(t, index=False))
    page = h.write_page(compare_page(runs), out / "compare.html")
    return [page, csv]
