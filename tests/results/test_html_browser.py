"""Each HTML page in a real headless Chromium: it renders every figure with no JavaScript error,
fetches nothing (it is self-contained), and shows the headline numbers of forecast.nc. Each test
keeps a full-page screenshot under outputs/test-artifacts/ (see tests/results/browser.py).

Skipped, saying why, only where no browser is installed (.ci/run installs Debian's chromium and
chromium-driver).
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from forecast import storage
from forecast.results import collect
from tests.results import browser

pytestmark = pytest.mark.e2e

if browser.skip_reason():
    pytest.skip(browser.skip_reason(), allow_module_level=True)

# selenium is known to be installed from here on
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture(scope="module")
def driver():
    with browser.chromium(1400, 1000) as d:
        yield d


def check_page(driver, path, shot: str, min_figures: int) -> dict:
    found = browser.open_page(driver, path)
    png = browser.screenshot(driver, browser.ARTIFACTS / shot)
    assert png.stat().st_size > 20_000, "the screenshot is (nearly) blank"
    assert found["errors"] == [], found["errors"]
    assert found["caught"] == [], "the page's error handler did not run or caught errors"
    assert found["figures"] >= min_figures, found["figures"]
    assert found["resources"] == [], f"the page fetched {found['resources']}"
    return found


def shown(driver, element_id: str) -> tuple[dict, str]:
    el = driver.find_element(By.ID, element_id)
    assert el.is_displayed(), element_id
    keys = ("mean", "lo", "hi", "mcse")
    return {k: float(el.get_attribute(f"data-{k}")) for k in keys}, el.text


def test_report_html_renders_and_shows_the_numbers_of_forecast_nc(driver, briefing_run):
    out, _ = briefing_run
    check_page(driver, out / "report.html", "report.png", min_figures=6)
    ds = storage.read(out / "forecast.nc")
    for name in ("p_deterrence", "p_attack_within_horizon"):  # the second headline
        nums, text = shown(driver, f"headline-{name}")
        x = ds[name]
        mean, lo, hi = float(x.mean()), float(x.quantile(0.05)), float(x.quantile(0.95))
        np.testing.assert_allclose(
            [nums["mean"], nums["lo"], nums["hi"], nums["mcse"]],
            [mean, lo, hi, float(ds[f"mcse_mean_{name}"])],
            rtol=0,
            atol=1e-12,
        )
        # the text a planner reads says the same, rounded
        assert f"{mean:.2f}, 90% interval {lo:.2f}–{hi:.2f}" in text
    # the probability once an attack is seen, in the card of P(defence succeeds | attack)
    card = driver.find_element(By.ID, "headline-p_defense_success")
    given = float(card.get_attribute("data-if-attacked"))
    assert given == pytest.approx(float(ds.p_attack_failed.mean() / ds.p_attack.mean()), rel=1e-9)
    assert f"once an attack is seen: {given:.2f}" in card.text
    # the mean's whole Monte Carlo error (the draws and the crises), with the crises' part
    x = ds.p_defense_success.values
    se = float(card.get_attribute("data-se"))
    assert se == pytest.approx(np.std(x, ddof=1) / np.sqrt(x.size), rel=1e-9)
    assert "(the draws and the crises; the crises' part ±" in card.text
    nums, text = shown(driver, "partner-JPN-p_join")
    assert nums["mean"] == pytest.approx(float(ds.p_join.sel(actor="JPN").mean()), abs=1e-12)
    assert text.startswith(f"{float(ds.p_join.sel(actor='JPN').mean()):.2f} [")
    # hovering a partner shows its numbers in words
    driver.execute_script("Plotly.Fx.hover('fig-partners', [{curveNumber: 0, pointNumber: 1}]);")
    hover = driver.find_elements(By.CSS_SELECTOR, "#fig-partners .hoverlayer .hovertext")
    assert hover and "Japan" in hover[0].text and "interval" in hover[0].text


def test_compare_html_renders_with_the_paired_difference(driver, compared_runs, tmp_path):
    dirs = [str(compared_runs[k][0]) for k in ("baseline", "japan_refuses")]
    res = subprocess.run(
        [sys.executable, "-m", "forecast.cli.compare", *dirs, "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    check_page(driver, tmp_path / "compare.html", "compare.png", min_figures=2)
    a, b = compared_runs["baseline"][1], compared_runs["japan_refuses"][1]
    nums, _ = shown(driver, "compare-1-p_deterrence")
    assert nums["mean"] == pytest.approx(float(b.p_deterrence.mean()), abs=1e-12)
    card = driver.find_element(By.ID, "diff-1-p_deterrence")
    diff = float((b.p_deterrence - a.p_deterrence).mean())
    assert float(card.get_attribute("data-diff-mean")) == pytest.approx(diff, abs=1e-12)
    assert f"{diff:+.3f}" in card.text


def test_sweep_html_renders_and_its_plots_are_linked(driver, small_sweep):
    check_page(driver, small_sweep / "sweep.html", "sweep.png", min_figures=4)
    s = storage.read(small_sweep / "sweep.nc")
    path = collect.swept_dims(["scenario.actors.JPN.willingness.mean"])[0]  # the sweep's dim
    for num in (0, 1):
        el = driver.find_element(By.ID, f"sweep-point-{num}")
        want = float(s.p_deterrence.sel({path: s[path].values[num]}).mean())
        assert float(el.get_attribute("data-mean")) == pytest.approx(want, abs=1e-12)
    assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-linked") == "1"
    # the mouse on a point of one plot shows the same swept value in the other plots of its column
    x = float(s[path].values[1])
    points = driver.find_elements(
        By.CSS_SELECTOR, "#fig-p_deterrence-0 .scatterlayer .trace .points path"
    )
    assert len(points) >= 2
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", points[1])
    ActionChains(driver).move_to_element(points[1]).perform()
    here = _hover_texts(driver, "fig-p_deterrence-0")
    assert any(f"= {x:g}" in t for t in here), here
    other = _hover_texts(driver, "fig-p_join-0")
    assert other, "hovering P(deterrence) showed nothing in the P(join) plot"
    assert any(f"= {x:g}" in t for t in other), other


def _hover_texts(driver, div_id: str, timeout: float = 5) -> list[str]:
    """The hover labels shown in a figure (waiting a moment: Plotly throttles hover)."""
    t0 = time.monotonic()
    while True:
        found = driver.find_elements(By.CSS_SELECTOR, f"#{div_id} .hoverlayer .hovertext")
        if found or time.monotonic() - t0 > timeout:
            return [e.text for e in found]
        time.sleep(0.1)
