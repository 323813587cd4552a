"""The HTML pages and draws.parquet without a browser: what a run writes, the numbers the pages
carry (equal to forecast.nc), the beliefs' notes parsed from the scenario file, the comparison's
paired differences, and pages for results with fewer or more variables than this version knows.
The browser tests are in test_html_browser.py."""

from __future__ import annotations

import html
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from forecast import storage
from forecast.results import briefing, collect, compare, export, figures, sources, sweep_page
from forecast.results import dataset as results
from forecast.results import html as h

# an element that loads anything from elsewhere (the inlined plotly.js mentions URLs in its text,
# but no tag of the page may fetch one)
_FETCHES = re.compile(r"<(script|link|img|iframe|source)\b[^>]*\b(src|href)\s*=", re.IGNORECASE)


def attrs_of(text: str, element_id: str) -> dict[str, str]:
    """The attributes of the element with ``element_id``."""
    m = re.search(rf'<[a-z]+ [^>]*id="{re.escape(element_id)}"[^>]*>', text)
    assert m, f"no element #{element_id}"
    return {k: html.unescape(v) for k, v in re.findall(r'([a-z-]+)="([^"]*)"', m.group(0))}


def expected(ds, name, sel=None):
    da = ds[name].sel(sel or {})
    return float(da.mean()), float(da.quantile(0.05)), float(da.quantile(0.95))


def test_a_run_writes_report_html_and_draws_parquet(briefing_run):
    out, _ = briefing_run
    for name in ("forecast.nc", "report.html", "draws.parquet", "report.png", "summary.csv"):
        assert (out / name).is_file(), name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files
    text = (out / "report.html").read_text()
    assert not _FETCHES.findall(text)
    assert "Plotly.newPlot" in text and len(text) > 3_000_000  # plotly.js is inlined
    for section in ("headline", "partners", "spread", "power", "sensitivity", "beliefs"):
        assert f'<section id="{section}">' in text, section
    assert 'id="provenance"' in text


def test_the_headline_numbers_on_the_page_are_those_of_forecast_nc(briefing_run):
    out, _ = briefing_run
    ds = storage.read(out / "forecast.nc")
    text = (out / "report.html").read_text()
    # the second headline is P(attack within the horizon), which every run now has
    for name in ("p_deterrence", "p_attack_within_horizon"):
        a = attrs_of(text, f"headline-{name}")
        mean, lo, hi = expected(ds, name)
        assert float(a["data-mean"]) == pytest.approx(mean, abs=1e-12)
        assert float(a["data-lo"]) == pytest.approx(lo, abs=1e-12)
        assert float(a["data-hi"]) == pytest.approx(hi, abs=1e-12)
        assert float(a["data-mcse"]) == pytest.approx(float(ds[f"mcse_mean_{name}"]), abs=1e-15)
        assert f"{mean:.2f}, 90% interval {lo:.2f}–{hi:.2f}" in text
    for a in map(str, ds.actor.values):
        got = attrs_of(text, f"partner-{a}-p_join")
        assert float(got["data-mean"]) == pytest.approx(expected(ds, "p_join", {"actor": a})[0])


def test_the_beliefs_table_carries_the_scenario_files_notes(briefing_run):
    out, ds = briefing_run
    text = (out / "report.html").read_text()
    usa = attrs_of(text, "beliefs-table")  # the table is there
    assert usa["id"] == "beliefs-table"
    assert "Taiwan Relations Act (1979): strategic ambiguity" in text
    assert 'data-path="scenario.actors.USA.willingness" data-kind="source and judgement"' in text


def test_comments_belong_to_their_key_or_the_key_below():
    text = (
        "# file header\n"
        "name: x\n"
        "aggressor:\n"
        "  prize: 1.0      # judgement: normalised\n"
        "  # Smith (1995): from the record\n"
        "  cost: 0.5\n"
        "  label: 'a # not a comment'  # the real one\n"
        "\n"
        "  # a block cut off by a blank line belongs to nothing\n"
        "\n"
        "  noise: 0.1\n"
        "actors:\n"
        "  USA:\n"
        "    willingness:\n"
        "      mean: 0.7     # CSIS (2024)\n"
        "      interval: [0.4, 0.9]  # judgement\n"
    )
    c = sources.comments(text)
    assert c["aggressor.prize"] == ["judgement: normalised"]
    assert c["aggressor.cost"] == ["Smith (1995): from the record"]
    assert c["aggressor.label"] == ["the real one"]
    assert "aggressor.noise" not in c
    assert c["actors.USA.willingness.mean"] == ["CSIS (2024)"]
    assert sources.kind_of("CSIS (2024)") == "source"
    assert sources.kind_of("judgement: x") == "judgement"
    assert sources.kind_of("CSIS (2024); judgement: lower") == "source and judgement"
    assert sources.kind_of("") == "no note"


def test_a_value_set_for_the_run_is_marked_against_the_file():
    path = sources.scenario_file("taiwan")
    import yaml

    resolved = yaml.safe_load(path.read_text())
    resolved["actors"]["JPN"]["willingness"]["mean"] = 0.2
    rows = {b.path: b for b in sources.beliefs(path, resolved)}
    jpn = rows["scenario.actors.JPN.willingness"]
    assert jpn.value.startswith("mean 0.2,") and jpn.file_value.startswith("mean 0.55,")
    assert rows["scenario.actors.USA.willingness"].file_value is None
    assert "CSIS (2024)" in rows["scenario.actors.USA.willingness"].note


def test_draws_parquet_has_one_row_per_draw_with_every_parameter_and_probability(briefing_run):
    out, _ = briefing_run
    ds = storage.read(out / "forecast.nc")
    df, attrs, cols = export.read_draws(out / "draws.parquet")
    assert len(df) == ds.sizes["draw"]
    np.testing.assert_array_equal(df["draw"], ds.draw.values)
    np.testing.assert_array_equal(df["p_deterrence"], ds.p_deterrence.values)
    np.testing.assert_array_equal(df["p_join[JPN]"], ds.p_join.sel(actor="JPN").values)
    np.testing.assert_array_equal(df["willingness[USA]"], ds.willingness.sel(actor="USA").values)
    np.testing.assert_array_equal(
        df["p_join_by_type[blockade,USA]"],
        ds.p_join_by_type.sel(attack_type="blockade", actor="USA").values,
    )
    for name in ("fait_accompli", "capability_aggressor", "mcse_p_deterrence"):
        assert name in df, name
    assert attrs["seed"] == str(ds.attrs["seed"]) and "scenario:" in attrs["config"]
    assert cols["p_join[JPN]"] == {
        "variable": "p_join",
        "cell": {"actor": "JPN"},
        "description": ds.p_join.attrs["description"],
    }


def test_the_report_skips_what_a_run_lacks_and_shows_what_it_adds(briefing_run):
    """Older or newer results: variables looked up by name, missing ones skipped, new ones
    (P(attack within the horizon), pivotality for deterrence, kinds of help) shown."""
    _, ds = briefing_run
    bare = ds.drop_vars(
        [v for v in ds.data_vars if v not in ("p_deterrence", "p_join", "mcse_p_deterrence")]
    )
    text = briefing.report_page(bare)
    assert 'id="headline-p_deterrence"' in text and 'id="headline-p_attack"' not in text
    assert '<section id="sensitivity">' not in text and '<section id="power">' not in text
    rng = np.random.default_rng(1)
    more = ds.copy()
    shape = (ds.sizes["draw"], ds.sizes["actor"])
    more["p_attack_within_horizon"] = ("draw", rng.uniform(0.1, 0.4, ds.sizes["draw"]))
    more["pivotality_deterrence"] = (("draw", "actor"), rng.uniform(0, 0.3, shape))
    kinds = (*shape, ds.sizes["contribution"])
    help_dims = ("draw", "actor", "contribution")
    more["pivotality_contribution"] = (help_dims, rng.uniform(0, 0.3, kinds))
    # a run whose partners give nothing but troops: no figure of kinds of help
    troops = ds.p_contributes.sel(contribution="troops")
    none = ds.copy()
    none["p_contributes"] = xr.concat(
        [troops, troops, 0 * troops, 0 * troops], dim="contribution"
    ).assign_coords(contribution=ds.contribution.values)
    assert 'id="fig-p_contributes"' not in briefing.report_page(none)
    more["aggressor_prize"] = ("draw", rng.uniform(0.8, 1.2, ds.sizes["draw"]))
    more["aggressor_prize"].attrs["description"] = "the draw's prize of the aggressor"
    text = briefing.report_page(more)
    assert "aggressor prize: " in text  # a new belief parameter is among each draw's beliefs
    card = attrs_of(text, "headline-p_attack_within_horizon")
    assert float(card["data-mean"]) == pytest.approx(float(more.p_attack_within_horizon.mean()))
    assert 'id="partner-USA-pivotality_deterrence"' in text
    assert 'id="fig-p_contributes"' in text
    assert 'id="fig-pivotality_contribution"' in text
    assert "Kind of help: pivotality of each kind of help" in text
    assert "does not hold P(attack within the horizon)" not in text


def test_a_pivotality_by_kind_of_help_is_drawn_as_a_difference_not_clipped_at_0(briefing_run):
    """Forcing a kind of help can lower P(defence succeeds) (a stronger coalition can push the
    aggressor to escalate): the bars of a pivotality keep their negative values, on an axis of
    differences, where probabilities stay on [0, 1]."""
    _, ds = briefing_run
    more = ds.copy()
    rng = np.random.default_rng(2)
    shape = (ds.sizes["draw"], ds.sizes["actor"], ds.sizes["contribution"])
    more["pivotality_contribution"] = (("draw", "actor", "contribution"),
                                       rng.uniform(-0.3, -0.1, shape))  # fmt: skip
    fig = figures.grouped_bars(more, "pivotality_contribution", "contribution", "heading")
    assert fig.layout.yaxis.title.text == "difference of probabilities"
    assert fig.layout.yaxis.range is None  # scaled to the data, which lie below 0
    assert max(max(bar.y) for bar in fig.data) < 0
    probs = figures.grouped_bars(ds, "p_contributes", "contribution", "heading")
    assert tuple(probs.layout.yaxis.range) == (0, 1)
    assert probs.layout.yaxis.title.text == "probability"
    # the partners' figure: probabilities and pivotality on one axis, which reaches below 0
    more["pivotality"] = (("draw", "actor"), rng.uniform(-0.2, -0.1, shape[:2]))
    fig = figures.partners(more, ["p_join", "pivotality"], str)
    low = float(more.pivotality.quantile(0.05, "draw").min())
    assert fig.layout.xaxis.range[0] < low < 0 and fig.layout.xaxis.range[1] == 1
    assert "difference of probabilities" in fig.layout.xaxis.title.text
    assert tuple(figures.partners(ds, ["p_join"], str).layout.xaxis.range) == (0, 1)


# ----------------------------------------------------------------------------------------------
# forecast-compare
# ----------------------------------------------------------------------------------------------


def test_compare_differences_are_paired_draw_by_draw_when_the_seed_is_shared(compared_runs):
    base, ds_a = compared_runs["baseline"]
    _, ds_b = compared_runs["japan_refuses"]
    _, ds_c = compared_runs["other_seed"]
    d = compare.difference(ds_a, ds_b, "p_deterrence")
    per_draw = ds_b.p_deterrence.values - ds_a.p_deterrence.values
    assert d["paired"] is True
    assert d["diff_mean"] == pytest.approx(per_draw.mean())
    assert d["diff_lo"] == pytest.approx(np.quantile(per_draw, 0.05))
    assert d["diff_se"] == pytest.approx(per_draw.std(ddof=1) / math.sqrt(per_draw.size))
    u = compare.difference(ds_a, ds_c, "p_deterrence")
    assert u["paired"] is False and math.isnan(u["diff_lo"])
    a, c = ds_a.p_deterrence.values, ds_c.p_deterrence.values
    assert u["diff_se"] == pytest.approx(math.sqrt(a.var(ddof=1) / a.size + c.var(ddof=1) / c.size))
    # common random numbers are what make the comparison precise: Japan's lower willingness
    # lowers P(deterrence) by far more than its paired standard error
    assert d["diff_mean"] < -3 * d["diff_se"]
    assert d["diff_se"] < 0.5 * u["diff_se"]


def test_forecast_compare_writes_compare_html_and_csv(compared_runs, tmp_path):
    dirs = [str(compared_runs[k][0]) for k in ("baseline", "japan_refuses", "other_seed")]
    res = subprocess.run(
        [sys.executable, "-m", "forecast.cli.compare", *dirs, "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(tmp_path / "compare.csv")
    ds_a, ds_b = compared_runs["baseline"][1], compared_runs["japan_refuses"][1]
    row = df[(df.run == "japan_refuses") & (df.quantity == "p_deterrence")].iloc[0]
    assert row["mean"] == pytest.approx(float(ds_b.p_deterrence.mean()))
    assert row["diff_mean"] == pytest.approx(float((ds_b.p_deterrence - ds_a.p_deterrence).mean()))
    assert bool(row["paired"])
    jpn = df[(df.run == "baseline") & (df.quantity == "p_join") & (df.actor == "JPN")]
    assert float(jpn["mean"].iloc[0]) == pytest.approx(float(ds_a.p_join.sel(actor="JPN").mean()))
    text = (tmp_path / "compare.html").read_text()
    card = attrs_of(text, "diff-1-p_deterrence")
    assert float(card["data-diff-mean"]) == pytest.approx(row["diff_mean"])
    assert attrs_of(text, "diff-2-p_deterrence")["data-paired"] == "0"
    assert "scenario.actors.JPN.willingness.mean" in text  # what the configs set differently
    assert not _FETCHES.findall(text)


@pytest.mark.parametrize("kind", ["one run", "missing run"])
def test_forecast_compare_bad_input_exits_2_with_nothing_written(compared_runs, tmp_path, kind):
    base = str(compared_runs["baseline"][0])
    args = [base] if kind == "one run" else [base, str(tmp_path / "nope")]
    res = subprocess.run(
        [sys.executable, "-m", "forecast.cli.compare", *args, "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert ("at least two runs" if kind == "one run" else "nope") in res.stderr
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------------------------
# sweep.html
# ----------------------------------------------------------------------------------------------


def test_collect_writes_sweep_html_with_each_points_numbers(small_sweep):
    s = storage.read(small_sweep / "sweep.nc")
    text = (small_sweep / "sweep.html").read_text()
    assert not _FETCHES.findall(text)
    path = collect.swept_dims(["scenario.actors.JPN.willingness.mean"])[0]  # the sweep's dim
    for num in (0, 1):
        a = attrs_of(text, f"sweep-point-{num}")
        sel = {path: s[path].values[num]}
        assert float(a["data-mean"]) == pytest.approx(float(s.p_deterrence.sel(sel).mean()))
    for name in ("p_deterrence", "p_join", "pivotality"):
        assert f'id="fig-{name}-0"' in text, name
    assert f'data-sweep-x="{path}"' in text
    # pivotality is a difference of probabilities: not clipped at 0 as the probabilities are
    piv = sweep_page.sweep_figure(s, "pivotality", path)
    assert piv.layout.yaxis.title.text == "difference of probabilities"
    assert piv.layout.yaxis.range is None
    assert tuple(sweep_page.sweep_figure(s, "p_deterrence", path).layout.yaxis.range) == (0, 1)


def test_sweep_figures_give_an_output_given_an_attack_once_an_attack_is_seen(small_sweep):
    """The dashed series of P(defence succeeds) is, at each swept value, the mean over draws
    weighted by that point's P(attack); the whiskers are 2 whole Monte Carlo errors (sd / sqrt D)
    of the plain mean; an output not given an attack has no dashed series."""
    s = storage.read(small_sweep / "sweep.nc")
    path = collect.swept_dims(["scenario.actors.JPN.willingness.mean"])[0]
    fig = sweep_page.sweep_figure(s, "p_defense_success", path)
    shown = [t for t in fig.data if t.mode and "markers" in t.mode]
    dashed = [t for t in fig.data if t.line and t.line.dash == "dash" and t.y[0] is not None]
    assert len(shown) == 1 and len(dashed) == 1
    assert "dashed: once an attack is seen" in [t.name for t in fig.data]
    x, w = s.p_defense_success, s.p_attack
    want = (x * w).sum("draw") / w.sum("draw")
    np.testing.assert_allclose(dashed[0].y, want.values, rtol=1e-12)
    np.testing.assert_allclose(shown[0].y, x.mean("draw").values, rtol=1e-12)
    sd = x.std("draw", ddof=1) / np.sqrt(s.sizes["draw"])
    np.testing.assert_allclose(shown[0].error_y.array, 2 * sd.values, rtol=1e-12)
    # the weighting matters in this sweep (Japan's willingness moves the resolve to attack)
    assert not np.allclose(dashed[0].y, shown[0].y, atol=1e-6)
    for num in range(s.sizes[path]):
        point = s.isel({path: num})
        assert dashed[0].y[num] == pytest.approx(
            results.if_attacked(point, "p_defense_success"), rel=1e-12
        )
        assert "once an attack is seen" in shown[0].hovertext[num]
    # per partner too: each partner's P(join) has its own dashed series
    joins = sweep_page.sweep_figure(s, "p_join", path)
    n = s.sizes["actor"]
    assert len([t for t in joins.data if t.line and t.line.dash == "dash"]) == n + 1
    assert not [
        t
        for t in sweep_page.sweep_figure(s, "p_deterrence", path).data
        if t.line and t.line.dash == "dash"
    ]


def test_compare_gives_the_whole_error_and_the_value_once_an_attack_is_seen(compared_runs):
    runs = [compare.Run(k, *compared_runs[k]) for k in ("baseline", "japan_refuses")]
    df = compare.compare_frame(runs)
    a, b = runs[0].ds, runs[1].ds
    row = df[(df.run == "japan_refuses") & (df.quantity == "p_defense_success")].iloc[0]
    assert row["if_attacked"] == pytest.approx(results.if_attacked(b, "p_defense_success"))
    assert row["if_attacked_diff"] == pytest.approx(
        results.if_attacked(b, "p_defense_success") - results.if_attacked(a, "p_defense_success")
    )
    sd = float(b.p_defense_success.std("draw", ddof=1)) / math.sqrt(b.sizes["draw"])
    assert row["se_mean"] == pytest.approx(sd)
    # the columns of earlier versions keep their places; the new ones come after them
    old = ["run", "path", "quantity", "actor", "mean", "q05", "q95", "mcse", "baseline",
           "diff_mean", "diff_lo", "diff_hi", "diff_se", "share_higher", "paired"]  # fmt: skip
    new = ["se_mean", "if_attacked", "if_attacked_diff", "if_attacked_diff_se"]
    assert list(df.columns) == old + new
    deter = df[(df.run == "japan_refuses") & (df.quantity == "p_deterrence")].iloc[0]
    assert math.isnan(deter["if_attacked"]) and math.isnan(deter["if_attacked_diff"])
    jpn = df[(df.run == "baseline") & (df.quantity == "p_join") & (df.actor == "JPN")].iloc[0]
    assert jpn["if_attacked"] == pytest.approx(results.if_attacked(a, "p_join", {"actor": "JPN"}))
    text = compare.compare_page(runs)
    cell = attrs_of(text, "compare-1-p_defense_success")
    assert float(cell["data-if-attacked"]) == pytest.approx(row["if_attacked"])
    assert float(cell["data-se"]) == pytest.approx(sd)
    assert f"once an attack is seen {h.fmt_p(row['if_attacked'])}" in text
    assert "Monte Carlo error of the mean ±" in text


def test_estimates_read_in_planner_words():
    e = h.Estimate("p_deterrence", 0.7012, 0.3321, 0.8804, 0.00041)
    assert e.words() == "0.70, 90% interval 0.33–0.88"
    assert h.fmt_se(e.mcse) == "0.0004"


def test_the_compare_console_script_is_declared():
    import tomllib

    from forecast.cli import compare as cli

    with open(browser_repo() / "pyproject.toml", "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert scripts["forecast-compare"] == "forecast.cli.compare:main"
    assert callable(cli.main)


def browser_repo():
    from tests.results.browser import REPO

    return REPO


def test_the_static_sweep_figure_shows_the_same_errors_and_value_once_an_attack_is_seen(
    small_sweep,
):
    """The PNG beside sweep.html (report.plot_sweep) draws what the page draws: whiskers of 2
    whole Monte Carlo errors, and a dashed line once an attack is seen, labelled in the legend;
    an output not given an attack has no dashed line."""
    from forecast.results import report

    s = storage.read(small_sweep / "sweep.nc")
    fig = report.plot_sweep(s, "p_defense_success")
    ax = fig.axes[0]
    x, w = s.p_defense_success, s.p_attack
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--" and len(ln.get_ydata())]
    assert len(dashed) == 1
    np.testing.assert_allclose(
        dashed[0].get_ydata(), ((x * w).sum("draw") / w.sum("draw")).values, rtol=1e-12
    )
    bars = [c for c in ax.containers if c.has_yerr]
    assert len(bars) == 1
    segments = bars[0].lines[2][0].get_segments()
    half = np.array([(seg[1][1] - seg[0][1]) / 2 for seg in segments])
    sd = x.std("draw", ddof=1) / np.sqrt(s.sizes["draw"])
    np.testing.assert_allclose(half, 2 * sd.values, rtol=1e-9)
    labels = ax.get_legend_handles_labels()[1]
    assert "dashed: once an attack is seen" in labels
    plain = report.plot_sweep(s, "p_deterrence").axes[0]
    assert not [ln for ln in plain.get_lines() if ln.get_linestyle() == "--"]
    assert "dashed: once an attack is seen" not in plain.get_legend_handles_labels()[1]


def _given_runs(x_a, x_b, w_a, w_b, seeds=(1, 1)):
    """Two synthetic runs of P(defence succeeds | attack) with P(attack) per draw."""

    def run(x, w, seed):
        return xr.Dataset(
            {"p_defense_success": ("draw", np.asarray(x)), "p_attack": ("draw", np.asarray(w))},
            attrs={"seed": seed},
        )

    return run(x_a, w_a, seeds[0]), run(x_b, w_b, seeds[1])


def test_the_difference_once_an_attack_is_seen_has_its_standard_error():
    """Closed forms: with equal weights the paired error is that of the plain per-draw
    differences, sd(x_b - x_a) / sqrt(D); unpaired runs add the two delta-method errors in
    quadrature; a run compared with itself differs by 0 with error 0."""
    rng = np.random.default_rng(3)
    x_a = rng.uniform(0.2, 0.6, 400)
    x_b = x_a + rng.normal(0.05, 0.02, 400)
    flat = np.full(400, 0.4)
    a, b = _given_runs(x_a, x_b, flat, flat)
    diff, se = compare.if_attacked_difference(a, b, "p_defense_success")
    assert diff == pytest.approx(x_b.mean() - x_a.mean(), rel=1e-12)
    assert se == pytest.approx((x_b - x_a).std(ddof=1) / np.sqrt(400), rel=1e-12)
    # the common random numbers cancel: far below the unpaired error of the same values
    a_u, b_u = _given_runs(x_a, x_b, flat, flat, seeds=(1, 2))
    diff_u, se_u = compare.if_attacked_difference(a_u, b_u, "p_defense_success")
    assert diff_u == pytest.approx(diff, rel=1e-12)
    assert se_u == pytest.approx(
        math.hypot(
            results.if_attacked_error(a_u, "p_defense_success"),
            results.if_attacked_error(b_u, "p_defense_success"),
        ),
        rel=1e-12,
    )
    assert se < se_u / 5
    # weighted: the paired error is the sd of the two ratios' influences' differences
    w_a, w_b = rng.uniform(0.1, 0.9, 400), rng.uniform(0.1, 0.9, 400)
    a, b = _given_runs(x_a, x_b, w_a, w_b)
    r_a, r_b = (w_a * x_a).sum() / w_a.sum(), (w_b * x_b).sum() / w_b.sum()
    psi = w_b * (x_b - r_b) / w_b.mean() - w_a * (x_a - r_a) / w_a.mean()
    diff, se = compare.if_attacked_difference(a, b, "p_defense_success")
    assert diff == pytest.approx(r_b - r_a, rel=1e-12)
    assert se == pytest.approx(psi.std(ddof=1) / np.sqrt(400), rel=1e-12)
    assert compare.if_attacked_difference(a, a, "p_defense_success") == (0.0, 0.0)
    # an independent check: with run b's draws shuffled, pairing has nothing to cancel, so the
    # paired error is the unpaired one up to the draws' chance correlation r (about 1 / sqrt(D),
    # 5 %), which moves it by at most r / 2
    order = rng.permutation(400)
    a, b = _given_runs(x_a, x_b[order], w_a, w_b[order])
    _, se_paired = compare.if_attacked_difference(a, b, "p_defense_success")
    a_u, b_u = _given_runs(x_a, x_b[order], w_a, w_b[order], seeds=(1, 2))
    _, se_unpaired = compare.if_attacked_difference(a_u, b_u, "p_defense_success")
    assert se_paired == pytest.approx(se_unpaired, rel=0.2)
    # an output that does not condition on an attack has none
    assert compare.if_attacked_difference(a, b, "p_attack") is None


def test_compare_csv_gives_the_error_of_the_difference_once_an_attack_is_seen(compared_runs):
    """On real runs with the same seed the column is filled, and the paired error is below the
    unpaired one: the same draws' beliefs and crises cancel."""
    runs = [compare.Run(k, *compared_runs[k]) for k in ("baseline", "japan_refuses")]
    df = compare.compare_frame(runs)
    row = df[(df.run == "japan_refuses") & (df.quantity == "p_defense_success")].iloc[0]
    a, b = runs[0].ds, runs[1].ds
    assert compare.paired(a, b)
    assert row["if_attacked_diff_se"] > 0.0
    unpaired = math.hypot(
        results.if_attacked_error(a, "p_defense_success"),
        results.if_attacked_error(b, "p_defense_success"),
    )
    assert row["if_attacked_diff_se"] < unpaired
    base = df[(df.run == "baseline") & (df.quantity == "p_defense_success")].iloc[0]
    assert math.isnan(base["if_attacked_diff_se"])


def test_sweep_figures_over_categories_give_the_value_once_seen_as_open_diamonds(small_sweep):
    """A text-valued swept path (scenarios) is drawn as categories: the value once an attack is
    seen is an open diamond per category, at the weighted mean, and the legend says so, on the
    page and in the PNG."""
    from forecast.results import report

    s = storage.read(small_sweep / "sweep.nc")
    path = collect.swept_dims(["scenario.actors.JPN.willingness.mean"])[0]
    labels = [f"case {k}" for k in range(s.sizes[path])]
    s = s.assign_coords({path: (path, labels, s[path].attrs)})
    x, w = s.p_defense_success, s.p_attack
    want = ((x * w).sum("draw") / w.sum("draw")).values
    fig = sweep_page.sweep_figure(s, "p_defense_success", path)
    diamonds = [t for t in fig.data if t.marker and t.marker.symbol == "diamond-open"]
    assert len(diamonds) == 2  # the series and its legend entry
    np.testing.assert_allclose(diamonds[0].y, want, rtol=1e-12)
    assert diamonds[1].name == sweep_page.ONCE_SEEN_CATEGORIES
    ax = report.plot_sweep(s, "p_defense_success").axes[0]
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "D" and len(ln.get_ydata())]
    assert len(marks) == 1
    np.testing.assert_allclose(marks[0].get_ydata(), want, rtol=1e-12)
    assert "open diamonds: once an attack is seen" in ax.get_legend_handles_labels()[1]
    assert [t.get_text() for t in ax.get_xticklabels()] == labels
