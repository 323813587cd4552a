"""One self-contained HTML page: plotly.js inlined once, figures as divs, tables, no network.

The pages (``report.html``, ``compare.html``, ``sweep.html``) open from a file on a machine with
no network and no server: the only script is plotly.js itself, written into the page, and the
figures' data. Numbers a test or a reader may look up sit in elements with stable ids and
``data-*`` attributes holding the full-precision value; the text beside them is rounded for
reading.
"""

from __future__ import annotations

import html
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from forecast import storage
from forecast.results import dataset as results
from forecast.results.labels import LEVEL, interval, quantity_label

DRAW = results.DRAW
#: Plotly's figure options on every page: no logo; figures follow the window's width
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def esc(x: Any) -> str:
    """``x`` as HTML text."""
    return html.escape(str(x), quote=True)


def color(k: int) -> str:
    return _COLORS[k % len(_COLORS)]


def finite(x: Any) -> bool:
    return x is not None and isinstance(x, int | float | np.floating) and math.isfinite(x)


def fmt_p(x: Any, digits: int = 2) -> str:
    """A probability for reading: ``0.70``; a dash when there is none."""
    return f"{float(x):.{digits}f}" if finite(x) else "–"


def fmt_se(x: Any) -> str:
    """A Monte Carlo error: one significant figure (``0.0004``)."""
    if not finite(x):
        return "–"
    return f"{float(x):.1g}" if float(x) > 0 else "0"


def fmt_num(x: Any) -> str:
    """A belief's value: up to 4 significant figures."""
    return f"{float(x):.4g}" if finite(x) else esc(x)


def data_value(x: Any) -> str:
    """Full precision for a ``data-*`` attribute (``repr`` of a float; ``nan`` when missing)."""
    return repr(float(x)) if x is not None else "nan"


# ----------------------------------------------------------------------------------------------
# Estimates: the mean over draws, the epistemic interval across them and the MCSE of the mean
# ----------------------------------------------------------------------------------------------


@dataclass
class Estimate:
    """A probability as a planner reads it.

    ``mean`` is the mean over the epistemic draws, ``lo`` and ``hi`` the ``LEVEL`` interval of the
    per-draw values, ``mcse`` the Monte Carlo standard error of the mean (None: not recorded);
    ``if_attacked`` the probability once an attack is seen
    (:func:`forecast.results.dataset.if_attacked`; None for what does not condition on one);
    ``se`` the mean's whole Monte Carlo error, from the draws and the crises both
    (:func:`forecast.results.dataset.error_of_mean`), of which ``mcse`` is the crises' part.
    """

    name: str
    mean: float
    lo: float
    hi: float
    mcse: float | None
    label: str = ""
    description: str = ""
    if_attacked: float | None = None
    se: float | None = None

    def words(self) -> str:
        """``0.70, 90% interval 0.33–0.88``."""
        return f"{fmt_p(self.mean)}, {LEVEL:.0%} interval {fmt_p(self.lo)}–{fmt_p(self.hi)}"

    def short(self) -> str:
        """``0.70 [0.33, 0.88]`` for a table cell."""
        return f"{fmt_p(self.mean)} [{fmt_p(self.lo)}, {fmt_p(self.hi)}]"

    def attrs(self) -> str:
        """The ``data-*`` attributes holding the full-precision numbers."""
        return (
            f'data-quantity="{esc(self.name)}" data-mean="{data_value(self.mean)}" '
            f'data-lo="{data_value(self.lo)}" data-hi="{data_value(self.hi)}" '
            f'data-mcse="{data_value(self.mcse)}" data-se="{data_value(self.se)}" '
            f'data-if-attacked="{data_value(self.if_attacked)}"'
        )


def mcse_of_mean(ds: xr.Dataset, name: str, sel: dict | None = None) -> float | None:
    """The MCSE of the mean over draws of ``name`` (at ``sel``): the recorded
    ``mcse_mean_<name>``, else sqrt(sum of squared per-draw MCSEs) / draws; None without either."""
    sel = sel or {}
    if f"mcse_mean_{name}" in ds:
        v = ds[f"mcse_mean_{name}"]
        return float(v.sel({k: x for k, x in sel.items() if k in v.dims}))
    if f"mcse_{name}" in ds:
        s = ds[f"mcse_{name}"]
        s = s.sel({k: x for k, x in sel.items() if k in s.dims})
        if set(s.dims) == {DRAW}:
            return float(np.sqrt(np.nansum(s.values**2)) / s.sizes[DRAW])
    return None


def estimate(ds: xr.Dataset, name: str, sel: dict | None = None) -> Estimate | None:
    """The :class:`Estimate` of variable ``name`` at ``sel`` (one value per draw left), or None
    when the Dataset does not have it or it has other dims."""
    if name not in ds or DRAW not in ds[name].dims:
        return None
    sel = {k: v for k, v in (sel or {}).items() if k in ds[name].dims}
    if any(v not in ds[name][k].values for k, v in sel.items()):
        return None  # another run's partner, say
    da = ds[name].sel(sel)
    if set(da.dims) != {DRAW} or not np.isfinite(da.values).any():
        return None
    mean, lo, hi = (float(v) for v in interval(da, DRAW))
    return Estimate(
        name,
        mean,
        lo,
        hi,
        mcse_of_mean(ds, name, sel),
        quantity_label(name),
        str(ds[name].attrs.get("description", "")),
        results.if_attacked(ds, name, sel),
        results.error_of_mean(ds, name, sel),
    )


# ----------------------------------------------------------------------------------------------
# Pieces of a page
# ----------------------------------------------------------------------------------------------


def headline_card(est: Estimate, draws: int, prefix: str = "headline") -> str:
    """A card with the estimate in words; its id is ``<prefix>-<name>``."""
    if est.se is not None:
        within = f"; the crises' part ±{fmt_se(est.mcse)}" if est.mcse is not None else ""
        se = f"Monte Carlo error of the mean ±{fmt_se(est.se)} (the draws and the crises{within})"
    elif est.mcse is not None:
        se = f"Monte Carlo error of the mean, the crises' part ±{fmt_se(est.mcse)}"
    else:
        se = "Monte Carlo error not recorded"
    return (
        f'<div class="card" id="{esc(prefix)}-{esc(est.name)}" {est.attrs()}>'
        f'<div class="card-label">{esc(est.label)}</div>'
        f'<div class="card-value">{fmt_p(est.mean)}</div>'
        f'<div class="card-words">{esc(est.words())}</div>'
        f'<div class="card-note">{esc(se)}; interval across {draws} epistemic draws</div>'
        f"{given_note(est)}"
        f'<div class="card-desc">{esc(est.description)}</div></div>'
    )


def given_note(est: Estimate) -> str:
    """The card's line for the probability once an attack is seen ("" when it has none)."""
    if est.if_attacked is None:
        return ""
    return (
        f'<div class="card-note if-attacked">once an attack is seen: {fmt_p(est.if_attacked)} '
        "(each draw weighted by its P(attack))</div>"
    )


def table(
    header: list[str], rows: list[list[str]], table_id: str = "", row_attrs=None, raw=False
) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they are HTML already)."""
    ident = f' id="{esc(table_id)}"' if table_id else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        attrs = f" {row_attrs[k]}" if row_attrs else ""
        cells = "".join(f"<td>{c if raw else esc(c)}</td>" for c in row)
        body.append(f"<tr{attrs}>{cells}</tr>")
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure_div(fig: Any, div_id: str) -> str:
    """A Plotly figure as a div and its script; plotly.js itself is in the page's head."""
    fig.update_layout(template="plotly_white", font={"size": 13}, hoverlabel={"namelength": -1})
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG)


def section(section_id: str, title: str, body: str, intro: str = "") -> str:
    p = f'<p class="intro">{intro}</p>' if intro else ""
    return f'<section id="{esc(section_id)}"><h2>{esc(title)}</h2>{p}{body}</section>'


def details(summary: str, body: str) -> str:
    return f"<details><summary>{esc(summary)}</summary>{body}</details>"


def pre(text: str) -> str:
    return f"<pre>{esc(text)}</pre>"


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#1d3557;color:#fff;padding:18px 32px}header h1{margin:0 0 4px;font-size:24px}
header p{margin:2px 0;opacity:.9}nav{background:#e9eef5;padding:8px 32px;position:sticky;top:0;
z-index:10}nav a{margin-right:16px;color:#1d3557;text-decoration:none;font-weight:600}
main{padding:8px 32px 40px;max-width:1400px}section{margin:26px 0}h2{border-bottom:2px solid
#1d3557;padding-bottom:4px}.intro{max-width:1000px;color:#444}.cards{display:flex;
flex-wrap:wrap;gap:14px}.card{background:#fff;border:1px solid #ccd;border-radius:8px;
padding:12px 16px;width:300px;box-shadow:0 1px 2px rgba(0,0,0,.06)}.card.main{border:2px solid
#1d3557}.card-label{font-weight:600}.card-value{font-size:34px;font-weight:700;color:#1d3557}
.card-words{font-size:15px}.card-note{font-size:12px;color:#555;margin-top:4px}.card-desc{
font-size:12px;color:#777;margin-top:4px}table{border-collapse:collapse;background:#fff;
margin:8px 0;font-size:13px}th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#eef1f6}td.num{text-align:right;white-space:nowrap}
.kind-judgement{color:#8a5a00}.kind-source{color:#1b6e20}.kind-none{color:#b00020;
font-weight:600}pre{background:#fff;border:1px solid #ddd;padding:8px;overflow:auto;
max-height:480px;font-size:12px}.warn{color:#b00020}footer{color:#666;font-size:12px;
padding:12px 32px}.plot{background:#fff;border:1px solid #e3e3e3;margin:8px 0}
"""

# Errors raised by any script on the page are kept, so a reader (or a test) can see them.
_ERRORS = (
    "window.pageErrors=[];window.addEventListener('error',function(e){"
    "window.pageErrors.push(String(e.message||e));});"
)
_READY = (
    "window.addEventListener('load',function(){var d=document.querySelectorAll("
    "'.plotly-graph-div');document.body.setAttribute('data-figures',String(d.length));});"
)


def page(title: str, subtitle: list[str], sections: list[tuple[str, str, str]], foot: str) -> str:
    """The whole page: ``sections`` are (id, nav title, html)."""
    import plotly.offline

    nav = "".join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t, _ in sections)
    sub = "".join(f"<p>{esc(s)}</p>" for s in subtitle if s)
    body = "".join(h for _, _, h in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><script>{_ERRORS}</script>"
        f"<style>{_CSS}</style>"
        f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script></head>'
        f"<body><header><h1>{esc(title)}</h1>{sub}</header><nav>{nav}</nav>"
        f"<main>{body}</main><footer>{foot}</footer><script>{_READY}</script></body></html>"
    )


def footer(attrs: dict) -> str:
    """The provenance line at the foot of a page, and how to read the numbers."""
    return esc(
        f"forecast {attrs.get('version_forecast', '')}, git {attrs.get('git_revision', '')}, "
        f"seed {attrs.get('seed', '')}, created {attrs.get('created', '')}. Intervals: "
        f"{LEVEL:.0%} across epistemic draws (what we do not know). Monte Carlo error: the "
        "standard error of a mean from chance in the simulation."
    )


def write_page(text: str, path: str | os.PathLike) -> Path:
    """Write a page atomically (UTF-8)."""
    return storage.replace_atomically(path, lambda tmp: Path(tmp).write_text(text, "utf-8"))
