"""``report.html``: the briefing of one run, one self-contained page that opens offline.

Sections: the headline (P(deterrence) and P(attack within the horizon) in words, with the
epistemic interval and the Monte Carlo error), the partners, the spread across epistemic draws,
coalition power against the aggressor's, sensitivity (when the run has it), the scenario's
beliefs with their sources, and the provenance. Every variable is looked up by name and skipped
when the run does not have it, so the page works for results with fewer or more outputs than
this version knows (``pivotality_deterrence``, a ``contribution`` dim, ...).

The figures are built in :mod:`forecast.results.figures`; this module lays out the page.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from forecast.results import dataset as results
from forecast.results import figures, sources
from forecast.results import html as h
from forecast.results.labels import LEVEL, config_of, quantity_label, state_names

DRAW, ACTOR, ATTACK_TYPE = results.DRAW, results.ACTOR, results.ATTACK_TYPE
CONTRIBUTION = "contribution"
#: the two headline numbers; P(attack within the horizon) falls back to P(attack) when a run
#: does not have it
HEADLINE = ("p_deterrence", ("p_attack_within_horizon", "p_attack"))
#: further cards, in this order, when the run has them
MORE_CARDS = (
    "p_defense_success",
    "p_attack_true_beliefs",
    "p_attack_repelled",
    "p_attack_failed",
    "p_miscalculation",
    "p_coalition_forms",
    "p_win_perceived",
)
#: the partners' table, in this order, when the run has them
PARTNER_VARIABLES = (
    "p_join",
    "p_join_in_time",
    "p_entangled",
    "pivotality",
    "pivotality_deterrence",
)
_SHORT = {
    "p_join": "P(joins | attack)",
    "p_join_in_time": "P(joins in time | attack)",
    "p_entangled": "P(drawn in through an ally | attack)",
    "pivotality": "pivotality for defence",
    "pivotality_deterrence": "pivotality for deterrence",
}


def short_label(name: str) -> str:
    return _SHORT.get(name, quantity_label(name))


def title(ds: xr.Dataset) -> str:
    names = state_names(ds)
    agg, tgt = str(ds.attrs.get("aggressor", "")), str(ds.attrs.get("target", ""))
    scen = str(ds.attrs.get("scenario", "forecast")).replace("_", " ").capitalize()
    return f"{scen}: if {names.get(agg, agg)} attacks {names.get(tgt, tgt)}"


def size_line(ds: xr.Dataset) -> str:
    n = ds["n_realizations"].values if "n_realizations" in ds else None
    crises = f"{int(np.mean(n)):,}" if n is not None else f"{ds.attrs.get('realizations', 0):,}"
    return f"{ds.sizes.get(DRAW, 0)} epistemic draws x {crises} simulated crises each"


# ----------------------------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------------------------


def headline_section(ds: xr.Dataset) -> str:
    draws = ds.sizes.get(DRAW, 0)
    main = [h.estimate(ds, HEADLINE[0])]
    attack = next((n for n in HEADLINE[1] if h.estimate(ds, n) is not None), None)
    note = ""
    if attack is not None:
        main.append(h.estimate(ds, attack))
        if attack != HEADLINE[1][0]:
            note = (
                "This run does not hold P(attack within the horizon); the card shows P(the "
                "aggressor attacks) in the crisis the scenario describes."
            )
    cards = [
        h.headline_card(e, draws).replace('class="card"', 'class="card main"', 1)
        for e in main
        if e is not None
    ]
    cards += [h.headline_card(e, draws) for n in MORE_CARDS if (e := h.estimate(ds, n))]
    sentences = [f"{e.label}: {e.words()}." for e in main if e is not None]
    intro = (
        f"{' '.join(map(h.esc, sentences))} The interval is the spread across {draws} epistemic "
        "draws (what we do not know: partners' resolve, forces, the aggressor's view); the Monte "
        "Carlo error is the chance in the simulation, the standard error of the mean from the "
        "draws drawn and the crises simulated (another seed moves the mean by about this)."
    )
    if note:
        intro += f" {h.esc(note)}"
    return h.section("headline", "The answer", f'<div class="cards">{"".join(cards)}</div>', intro)


def _commitments(ds: xr.Dataset) -> dict[str, str]:
    actors = (config_of(ds).get("scenario") or {}).get("actors") or {}
    return {str(a): str((n or {}).get("commitment", "")) for a, n in actors.items()}


def partner_table(ds: xr.Dataset) -> str:
    """One row per partner: its commitment and each partner variable's estimate in a cell with
    id ``partner-<code>-<variable>`` and the full-precision numbers as data attributes."""
    names, commit = state_names(ds), _commitments(ds)
    present = [v for v in PARTNER_VARIABLES if v in ds and ACTOR in ds[v].dims]
    present += [
        str(v)
        for v in ds.data_vars
        if str(v).startswith("pivotality_")
        and str(v) not in present
        and ds[v].dims == (DRAW, ACTOR)
    ]
    rows = []
    for a in map(str, ds[ACTOR].values):
        row = [f"<b>{h.esc(names.get(a, a))}</b> ({h.esc(a)})", h.esc(commit.get(a, ""))]
        for v in present:
            e = h.estimate(ds, v, {ACTOR: a})
            cell = (
                f'<span id="partner-{h.esc(a)}-{h.esc(v)}" {e.attrs()} title="Monte Carlo error '
                f'±{h.fmt_se(e.mcse)}">{h.esc(e.short())}</span>'
                if e
                else "–"
            )
            row.append(cell)
        rows.append(row)
    header = ["partner", "commitment"] + [f"{short_label(v)}, mean [{LEVEL:.0%}]" for v in present]
    return h.table(header, rows, "partners-table", raw=True)


def partners_section(ds: xr.Dataset) -> str:
    if ACTOR not in ds.dims or ds.sizes[ACTOR] == 0:
        return h.section("partners", "Who comes", "<p>This scenario has no partners.</p>")
    parts = [partner_table(ds)]
    fig = figures.partners(ds, [v for v in PARTNER_VARIABLES if v in ds], short_label)
    if fig is not None:
        parts.append(h.figure_div(fig, "fig-partners"))
    for name in [str(v) for v in ds.data_vars if str(v).endswith("_by_type")]:
        if name.startswith("mcse_"):
            continue
        # by attack type only when there is more than one
        if {DRAW, ATTACK_TYPE, ACTOR} == set(ds[name].dims) and ds.sizes[ATTACK_TYPE] > 1:
            heading = quantity_label(name.removesuffix("_by_type"))
            fig = figures.grouped_bars(ds, name, ATTACK_TYPE, heading)
            parts.append(h.figure_div(fig, f"fig-{name}"))
    types = attack_type_table(ds)
    if types:
        parts.append(types)
    for name in [str(v) for v in ds.data_vars if CONTRIBUTION in ds[v].dims]:
        if str(name).startswith("mcse_") or not {DRAW, ACTOR} <= set(ds[name].dims):
            continue
        if results.gives_help(ds, name):
            heading = f"Kind of help: {quantity_label(name)}"
            fig = figures.grouped_bars(ds, name, CONTRIBUTION, heading)
            parts.append(h.figure_div(fig, f"fig-{name}"))
    intro = (
        "Each partner's probabilities given an attack: the mean over epistemic draws and the "
        f"{LEVEL:.0%} interval across them. Pivotality for defence: how much P(defence "
        "succeeds) rises when the partner is forced in rather than kept out, every other partner "
        "deciding again on the same crises; for a kind of help, the same with that help forced "
        "rather than withheld. Pivotality for deterrence: how much P(attack) rises if the "
        "aggressor knew the partner stays out. Hover over a point for the numbers and the Monte "
        "Carlo error."
    )
    return h.section("partners", "Who comes", "".join(parts), intro)


def attack_type_table(ds: xr.Dataset) -> str:
    """The attack types: how likely each is, and the defence's chance against it."""
    names = [
        n
        for n in ("p_attack_by_type", "p_attack_type", "p_defense_success_by_type")
        if n in ds and ds[n].dims == (DRAW, ATTACK_TYPE)
    ]
    if not names or ds.sizes.get(ATTACK_TYPE, 0) < 2:
        return ""
    rows = []
    for t in map(str, ds[ATTACK_TYPE].values):
        row = [h.esc(t)]
        for n in names:
            e = h.estimate(ds, n, {ATTACK_TYPE: t})
            # the plain mean counts draws that would never choose this type (with choose_type)
            seen = "" if e.if_attacked is None else f"; once seen: {h.fmt_p(e.if_attacked)}"
            cell = h.esc(e.short() + seen)
            row.append(f'<span id="type-{h.esc(t)}-{n}" {e.attrs()}>{cell}</span>')
        rows.append(row)
    header = ["attack type"] + [quantity_label(n) for n in names]
    return h.table(header, rows, "attack-types-table", raw=True)


def spread_section(ds: xr.Dataset) -> str:
    names = [n for n in ("p_deterrence", *HEADLINE[1], "p_defense_success") if n in ds]
    names = [n for n in names if ds[n].dims == (DRAW,)]
    if "p_attack_within_horizon" in names and "p_attack" in names:
        names.remove("p_attack")
    parts = [h.figure_div(figures.histograms(ds, names), "fig-spread")] if names else []
    scatter = figures.draw_scatter(ds)
    if scatter is not None:
        parts.append(h.figure_div(scatter, "fig-draws"))
    intro = (
        "How the answer varies with what we do not know: one value per epistemic draw. A wide "
        "spread means the beliefs, not the simulation, limit what can be said. Hover over a "
        "point of the second plot for the draw's beliefs."
    )
    return h.section("spread", "Spread across draws", "".join(parts), intro)


def power_section(ds: xr.Dataset) -> str:
    if results.QUANTILE not in ds.get("coalition_power_ratio", xr.DataArray()).dims:
        return ""
    r = ds["coalition_power_ratio"]
    q = r[results.QUANTILE].values
    med = int(np.argmin(np.abs(q - 0.5)))
    e = h.estimate(ds, "coalition_power_ratio", {results.QUANTILE: q[med]})
    words = (
        f"In the median crisis the coalition brings {e.mean:.2g} times the aggressor's "
        f"power at the decisive time ({LEVEL:.0%} interval across draws {e.lo:.2g}–"
        f"{e.hi:.2g}); with the war in phases, in its first phase, and against the power the "
        "aggressor brings to the attack type. Each box: one quantile of the crises within a "
        "draw, across draws; above 1 the coalition outweighs the aggressor."
        if e
        else ""
    )
    fig = figures.power_ratio(ds)
    body = f'<p id="power-median" {e.attrs() if e else ""}>{h.esc(words)}</p>'
    return h.section(
        "power", "Coalition power against the aggressor's", body + h.figure_div(fig, "fig-power")
    )


def war_section(ds: xr.Dataset) -> str:
    """The war over its phases, when it has more than one (docs/war.md)."""
    decided = results.decisive_phase(ds)
    if decided is None:
        return ""
    sentence = results.decisive_words(ds)
    words = (
        f"{sentence[0].upper()}{sentence[1:]}; once such an attack is seen (each draw weighted "
        "by its P(attack))."
    )
    if "p_escalation" in ds and float(ds["p_escalation"].max()) > 0:
        e = h.estimate(ds, "p_escalation", {})
        if e:
            words += f" P(the war escalates | attack) {e.short()}."
    body = f'<p id="war-decided" data-phase="{h.esc(decided[0])}">{h.esc(words)}</p>'
    return h.section("war", "The war over its phases", body + h.figure_div(
        figures.war_course(ds), "fig-war"))  # fmt: skip


def sensitivity_section(ds: xr.Dataset) -> str:
    parts = []
    if "tornado_low" in ds and "parameter" in ds.dims:
        parts.append(h.figure_div(figures.tornado(ds), "fig-tornado"))
    if "threshold" in ds and "threshold_curve" in ds:
        msg = str(ds["threshold"].attrs.get("message", ""))
        parts.append(f'<p id="threshold-message">{h.esc(msg)}</p>')
        parts.append(h.figure_div(figures.threshold(ds), "fig-threshold"))
    if not parts:
        return ""
    intro = (
        "Which belief moves the answer: the tornado moves one belief to its low and high quantile "
        "with the others at their medians; the first-order index is the share of the spread "
        "across draws that the belief explains alone."
    )
    return h.section("sensitivity", "What drives the answer", "".join(parts), intro)


def beliefs_section(ds: xr.Dataset) -> str:
    sc = config_of(ds).get("scenario") or {}
    path = sources.scenario_file(str(sc.get("name", ds.attrs.get("scenario", ""))))
    if path is None:
        return h.section(
            "beliefs",
            "The beliefs",
            "<p>The scenario file is not among the shipped configs, so its source notes cannot "
            "be shown; the resolved config is under Provenance.</p>",
        )
    rows, attrs = [], []
    for b in sources.beliefs(path, sc):
        value = h.esc(b.value)
        if b.file_value is not None:
            value += f'<br><span class="warn">set for this run; the file says {h.esc(b.file_value)}'
            value += "</span>"
        kind = b.kind.split()[-1] if b.kind != "no note" else "none"
        rows.append(
            [
                f"<code>{h.esc(b.path)}</code>",
                value,
                f'<span class="kind-{kind}">{h.esc(b.kind)}</span>',
                h.esc(b.note),
            ]
        )
        attrs.append(f'data-path="{h.esc(b.path)}" data-kind="{h.esc(b.kind)}"')
    counts = {k: sum(r[2].endswith(f">{k}</span>") for r in rows) for k in ("no note",)}
    intro = (
        f"Every number of configs/scenario/{h.esc(path.name)} with the note the file gives it: a "
        "cited source, or a named judgement. Values set for this run on the command line are "
        f"marked. {counts['no note']} beliefs have no note in the file."
    )
    body = h.table(["config path", "value", "kind", "note"], rows, "beliefs-table", attrs, True)
    return h.section("beliefs", "The beliefs", body, intro)


def provenance_section(ds: xr.Dataset) -> str:
    skip = {"config", "package_versions", "random_numbers"}
    rows = [[str(k), str(v)] for k, v in ds.attrs.items() if k not in skip and len(str(v)) < 400]
    body = h.table(["attribute", "value"], rows, "provenance-table")
    body += h.details("package versions", h.pre(str(ds.attrs.get("package_versions", ""))))
    body += h.details("random numbers", h.pre(str(ds.attrs.get("random_numbers", ""))))
    body += h.details("the resolved config (YAML)", h.pre(str(ds.attrs.get("config", ""))))
    return h.section("provenance", "Provenance", body, "How this forecast was made.")


# ----------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------


def report_page(ds: xr.Dataset) -> str:
    """The HTML text of ``report.html``."""
    desc = str((config_of(ds).get("scenario") or {}).get("description", "")).strip()
    makers = [
        ("headline", "Answer", headline_section),
        ("partners", "Partners", partners_section),
        ("spread", "Spread", spread_section),
        ("power", "Power", power_section),
        ("war", "War", war_section),
        ("sensitivity", "Sensitivity", sensitivity_section),
        ("beliefs", "Beliefs", beliefs_section),
        ("provenance", "Provenance", provenance_section),
    ]
    sections = [(i, t, text) for i, t, make in makers if (text := make(ds))]
    return h.page(title(ds), [size_line(ds), desc], sections, h.footer(ds.attrs))


def write_report_html(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``report.html`` atomically."""
    return h.write_page(report_page(ds), path)
