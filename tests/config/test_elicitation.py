"""Elicited beliefs: PreliZ's fit reproduces an expert's quantiles where the family can; the
linear pool is the weighted mixture of the experts; the model draws from the fitted belief."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf, open_dict
from scipy import stats

from forecast.config import elicitation
from forecast.config.loading import load_config, merge
from forecast.model import beliefs
from tests.conftest import REPO

LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


def _belief(**node):
    return OmegaConf.create(node)


@pytest.mark.parametrize("a,b", [(2.0, 5.0), (6.0, 2.0), (30.0, 10.0)])
def test_beta_fit_reproduces_quantiles_of_a_beta_within_001(a, b):
    q = {lv: float(stats.beta.ppf(lv, a, b)) for lv in LEVELS}
    fit = elicitation.fit(_belief(quantiles=q), "beta")
    got = stats.beta.ppf(LEVELS, fit.a, fit.b)
    np.testing.assert_allclose(got, list(q.values()), atol=0.01)
    assert fit.max_error < 0.01


def test_lognormal_fit_reproduces_quantiles_of_a_lognormal_within_001():
    mu, s = np.log(8.0), 0.3
    q = {lv: float(stats.lognorm.ppf(lv, s, scale=np.exp(mu))) for lv in (0.05, 0.5, 0.95)}
    fit = elicitation.fit(_belief(quantiles=q), "lognormal")
    np.testing.assert_allclose([fit.a, fit.b], [mu, s], atol=1e-3)


def test_quantiles_no_beta_has_are_fitted_as_closely_as_a_beta_allows():
    """{0.05: 0.4, 0.5: 0.75, 0.95: 0.93} is not exactly any Beta: the fit reports its error."""
    q = {0.05: 0.4, 0.5: 0.75, 0.95: 0.93}
    fit = elicitation.fit(_belief(quantiles=q), "beta")
    got = stats.beta.ppf(list(q), fit.a, fit.b)
    assert fit.max_error == pytest.approx(np.max(np.abs(got - list(q.values()))), abs=1e-9)
    assert fit.max_error < 0.03


def test_the_pool_is_the_weighted_mixture_of_the_experts():
    experts = [
        {"name": "A", "weight": 3.0, "quantiles": {0.1: 0.3, 0.5: 0.6, 0.9: 0.85}},
        {"name": "B", "weight": 1.0, "quantiles": {0.1: 0.1, 0.5: 0.3, 0.9: 0.55}},
    ]
    belief = _belief(experts=experts)
    fitted, w, _ = elicitation.pool(belief, "beta")
    np.testing.assert_allclose(w, [0.75, 0.25])
    levels = [0.1, 0.5, 0.9]
    pooled = elicitation.pooled_quantiles(belief, "beta", levels)
    # an independent mixture CDF with scipy at the pool's quantiles gives back the levels
    cdf = sum(
        wi * stats.beta.cdf(pooled, float(d.alpha), float(d.beta))
        for wi, d in zip(w, fitted, strict=True)
    )
    np.testing.assert_allclose(cdf, levels, atol=1e-3)
    fit = elicitation.fit(belief, "beta")
    np.testing.assert_allclose(stats.beta.ppf(levels, fit.a, fit.b), pooled, atol=0.02)


def test_one_expert_in_a_pool_is_that_expert():
    q = {0.05: 0.2, 0.5: 0.5, 0.95: 0.8}
    lone = elicitation.fit(_belief(quantiles=q), "beta")
    pooled = elicitation.fit(_belief(experts=[{"weight": 2.0, "quantiles": q}]), "beta")
    assert (lone.a, lone.b) == pytest.approx((pooled.a, pooled.b))


def _taiwan_with(willingness: dict):
    cfg = load_config(["scenario=taiwan"])
    with open_dict(cfg):
        usa = {"willingness": {"interval": None, **willingness}}
        cfg = merge(cfg, {"scenario": {"actors": {"USA": usa}}})
    OmegaConf.update(cfg, "scenario.actors.USA.willingness.mean", "???")
    return cfg


def test_the_model_draws_willingness_from_the_fitted_beta():
    q = {lv: float(stats.beta.ppf(lv, 6.0, 2.0)) for lv in LEVELS}
    model = beliefs.build_model(_taiwan_with({"quantiles": q}))
    p = model.parameters[beliefs.parameter_index(model, "willingness[USA]")]
    assert p.ppf.kind == "beta"
    np.testing.assert_allclose(p.ppf(np.array(LEVELS)), list(q.values()), atol=0.01)


def test_bad_elicitations_are_all_reported_with_their_paths():
    cfg = _taiwan_with({"quantiles": {0.05: 0.4, 0.5: 0.3, 1.5: 0.93}})
    problems = beliefs.validate(cfg)
    assert any("levels must lie in (0, 1)" in p for p in problems)
    assert any("must increase" in p for p in problems)
    assert all(p.startswith("scenario.actors.USA.willingness") for p in problems)
    mixed = load_config(["scenario=taiwan"])
    with open_dict(mixed):
        usa = {"willingness": {"quantiles": {0.1: 0.2, 0.9: 0.8}}}
        mixed = merge(mixed, {"scenario": {"actors": {"USA": usa}}})
    assert any("either a mean or elicited" in p for p in beliefs.validate(mixed))


def test_forecast_elicit_prints_and_plots(tmp_path):
    scenario = (REPO / "configs" / "scenario" / "backtest_poland_1939.yaml").read_text()
    scenario = scenario.replace(
        "    willingness: {mean: 0.7, interval: [0.4, 0.9]}\n",
        "    willingness:\n      experts:\n"
        "        - {name: A, weight: 2, quantiles: {0.05: 0.4, 0.5: 0.75, 0.95: 0.93}}\n"
        "        - {name: B, weight: 1, quantiles: {0.1: 0.2, 0.5: 0.5, 0.9: 0.8}}\n",
    )
    cfg_dir = tmp_path / "configs"
    (cfg_dir / "scenario").mkdir(parents=True)
    (cfg_dir / "scenario" / "elicited.yaml").write_text(scenario)
    out = tmp_path / "elicit.png"
    cmd = [
        sys.executable,
        "-m",
        "forecast.cli.elicit",
        f"hydra.searchpath=[file://{cfg_dir}]",
        "scenario=elicited",
        "path=scenario.actors.GBR.willingness",
        f"out={out}",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "pool" in run.stdout and "fitted beta" in run.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run(
        [*cmd[:-2], "path=scenario.actors.FRA.willingness"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert bad.returncode == 2 and "gives no quantiles or experts" in bad.stderr
