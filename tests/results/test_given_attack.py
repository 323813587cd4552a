"""The probability once an attack is seen: the draws weighted by their P(attack), checked against
the run's own joint probabilities (closed-form identities of the estimators, on the real
sampler), in the summary table, the printed summary and the backtest's forecasts."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.jobs import backtest
from forecast.jobs.run import describe, simulate
from forecast.results import dataset as results
from tests.conftest import quick_config


@pytest.fixture(scope="module")
def taiwan():
    cfg = quick_config(draws=40, realizations=1000)
    return cfg, simulate(cfg)


def test_defence_once_an_attack_is_seen_is_p_attack_failed_over_p_attack(taiwan):
    """Per draw P(attack and the coalition wins) = P(attack) P(win | attack), so weighting each
    draw by its P(attack) gives E[p_attack_failed] / E[p_attack]; the plain mean is off from it by
    cov(P(attack), P(win | attack)) / E[P(attack)]."""
    _, ds = taiwan
    a, x = ds.p_attack.values, ds.p_defense_success.values
    np.testing.assert_allclose(ds.p_attack_failed.values, a * x, rtol=1e-12, atol=1e-15)
    got = results.if_attacked(ds, "p_defense_success")
    assert got == pytest.approx(ds.p_attack_failed.values.mean() / a.mean(), rel=1e-12)
    cov = np.mean(a * x) - a.mean() * x.mean()
    assert got - x.mean() == pytest.approx(cov / a.mean(), rel=1e-9, abs=1e-15)


def test_attack_types_once_an_attack_is_seen_and_the_law_of_total_probability(taiwan):
    """P(type | attack seen) = E[P(attack with t)] / E[P(attack)], the types' shares sum to 1,
    and the by-type defence, each weighted by P(attack with t), pools back to the pooled one."""
    _, ds = taiwan
    types = list(ds.attack_type.values)
    assert len(types) > 1
    share = {t: results.if_attacked(ds, "p_attack_type", {"attack_type": t}) for t in types}
    for t in types:
        by_type = ds.p_attack_by_type.sel(attack_type=t).values.mean()
        assert share[t] == pytest.approx(by_type / ds.p_attack.values.mean(), rel=1e-9)
    assert sum(share.values()) == pytest.approx(1.0, abs=1e-12)
    pooled = sum(
        share[t] * results.if_attacked(ds, "p_defense_success_by_type", {"attack_type": t})
        for t in types
    )
    assert pooled == pytest.approx(results.if_attacked(ds, "p_defense_success"), rel=1e-9)


def test_only_outputs_given_an_attack_have_one(taiwan):
    """Every per-draw output whose description conditions on an attack is listed (those of one
    type by P(attack with that type)), and nothing else is."""
    _, ds = taiwan
    listed = set(results.GIVEN_ATTACK) | set(results.GIVEN_ATTACK_OF_TYPE)
    for name, da in ds.data_vars.items():
        text = str(da.attrs.get("description", ""))
        if name.startswith("mcse") or "draw" not in da.dims or "quantile" in da.dims:
            continue
        conditional = "| attack" in text or "| an attack" in text
        assert (name in listed) == conditional, (name, text)
        if conditional:
            assert (name in results.GIVEN_ATTACK_OF_TYPE) == ("of this type" in text), name
    for name in ("p_attack", "p_deterrence", "p_attack_failed", "pivotality_deterrence"):
        assert results.if_attacked(ds, name, {"actor": "USA"}) is None


def test_when_no_draw_attacks_the_plain_mean_is_given(taiwan):
    _, ds = taiwan
    never = ds.assign(p_attack=ds.p_attack * 0.0)
    assert results.if_attacked(never, "p_join", {"actor": "USA"}) == pytest.approx(
        float(ds.p_join.sel(actor="USA").mean()), rel=1e-12
    )


def test_the_summary_table_and_the_printed_summary_show_it(taiwan):
    cfg, ds = taiwan
    table = results.summary_table(ds)
    rows = table.set_index(["quantity", "actor"])
    assert np.isnan(rows.loc[("p_attack", ""), "if_attacked"])
    assert rows.loc[("p_join", "JPN"), "if_attacked"] == pytest.approx(
        results.if_attacked(ds, "p_join", {"actor": "JPN"})
    )
    printed = describe(ds, cfg)
    assert "if attacked" in printed
    line = next(x for x in printed.splitlines() if x.startswith("p_defense_success "))
    assert line.split()[-1] == f"{results.if_attacked(ds, 'p_defense_success'):.3f}"
    line = next(x for x in printed.splitlines() if x.startswith("p_attack "))
    assert len(line.split()) == 6  # name, mean, SE, interval (two), MCSE: none given an attack


def test_the_backtest_scores_what_follows_an_attack_once_the_attack_is_seen(taiwan):
    _, ds = taiwan
    got = backtest.model_forecasts(ds, ["attack", "join:USA", "defense_success"])
    assert got["attack"] == pytest.approx(float(ds.p_attack.mean()), rel=1e-12)
    assert got["join:USA"] == pytest.approx(results.if_attacked(ds, "p_join", {"actor": "USA"}))
    assert got["defense_success"] == pytest.approx(
        float(ds.p_attack_failed.mean() / ds.p_attack.mean()), rel=1e-9
    )


def test_the_error_of_the_mean_counts_the_draws_and_the_crises(taiwan):
    """se_mean is the standard error of a mean of independent draws, sd / sqrt(D), larger than
    the crises' part (mcse) alone; the delta-method error of the ratio once an attack is seen
    agrees with a bootstrap over the draws (within 15%: the bootstrap's own noise with 2000
    resamples is about 2%, the delta method's first-order error at 40 draws a few %)."""
    _, ds = taiwan
    x = ds.p_deterrence.values
    assert results.error_of_mean(ds, "p_deterrence") == pytest.approx(
        np.std(x, ddof=1) / np.sqrt(x.size), rel=1e-12
    )
    table = results.summary_table(ds).set_index(["quantity", "actor"])
    for q in ("p_deterrence", "p_defense_success"):
        assert table.loc[(q, ""), "se_mean"] > table.loc[(q, ""), "mcse"]
    # the ratio's delta-method error against the spread of the ratio over resampled draws
    rng = np.random.default_rng(0)
    a, f = ds.p_attack.values, ds.p_attack_failed.values
    boot = [f[i].mean() / a[i].mean() for i in rng.integers(0, a.size, (2000, a.size))]
    se = results.if_attacked_error(ds, "p_defense_success")
    assert se == pytest.approx(np.std(boot), rel=0.15)


def test_the_report_gives_each_attack_type_once_such_an_attack_is_seen(taiwan):
    """With choose_type a draw attacks only with its best type, so the plain mean of P(defence
    succeeds | invasion) counts draws that never invade; the table adds the value once an
    invasion is seen, weighted by P(attack with that type)."""
    from forecast.results import briefing
    from forecast.results import html as h

    _, ds = taiwan
    text = briefing.attack_type_table(ds)
    for t in map(str, ds.attack_type.values):
        seen = results.if_attacked(ds, "p_defense_success_by_type", {"attack_type": t})
        w = ds.p_attack_by_type.sel(attack_type=t).values
        x = ds.p_defense_success_by_type.sel(attack_type=t).values
        assert seen == pytest.approx((w * x).sum() / w.sum(), rel=1e-12)
        cell = text.split(f'id="type-{t}-p_defense_success_by_type"', 1)[1].split("</span>")[0]
        assert f"once seen: {h.fmt_p(seen)}" in cell, cell
