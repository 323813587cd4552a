"""A real headless Chromium for the HTML pages' tests (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium; ``.ci/run`` installs them).

``python -m tests.results.browser PAGE.html OUT.png [WIDTH HEIGHT]`` takes a screenshot of a
page (the docs' pictures are made this way).
"""

from __future__ import annotations

import base64
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: where the browser tests keep their screenshots
ARTIFACTS = REPO / "outputs" / "test-artifacts"
_FLAGS = (
    "--headless",
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def executables() -> tuple[str, str] | None:
    """(chromium, chromedriver), or None when either is not installed."""
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (chrome, driver) if chrome and driver else None


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (it is in the `test` extra: pip install -e '.[test]')"
    if executables() is None:
        return (
            "no headless browser: Debian's chromium and chromium-driver are not installed "
            "(.ci/run installs them with apt-get where it can)"
        )
    return None


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator:
    """A headless Chromium with a fresh profile; its console log is kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chrome, driver_path = executables()  # type: ignore[misc]
    with tempfile.TemporaryDirectory(prefix="forecast-chromium-") as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = chrome
        for flag in _FLAGS:
            opts.add_argument(flag)
        opts.add_argument(f"--user-data-dir={profile}")
        opts.add_argument(f"--window-size={width},{height}")
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(driver_path), options=opts)
        try:
            yield driver
        finally:
            driver.quit()


def open_page(driver, path: Path, timeout: float = 60) -> dict:
    """Load ``path`` from disk and wait until every Plotly figure on it has been drawn.

    Returns the page's JavaScript errors (those it caught itself and the console's SEVERE
    entries), the console log, the number of figures, and the URLs of any resource the page
    fetched (a self-contained page fetches none).
    """
    assert Path(path).is_file(), f"no page at {path}"
    driver.get(Path(path).resolve().as_uri())
    t0 = time.monotonic()
    script = (
        "var d=document.querySelectorAll('.plotly-graph-div');var done=0;"
        "d.forEach(function(x){if(x.querySelector('.main-svg'))done++;});"
        "return [document.readyState, d.length, done];"
    )
    while True:
        state, n, done = driver.execute_script(script)
        if state == "complete" and done == n:
            break
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{path}: {done} of {n} figures drawn after {timeout} s")
        time.sleep(0.2)
    console = driver.get_log("browser")
    caught = driver.execute_script("return window.pageErrors || null;")
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function(r){return r.name;});"
    )
    errors = [e["message"] for e in console if e.get("level") == "SEVERE"]
    return {
        "errors": errors + list(caught or []),
        "caught": caught,
        "console": console,
        "figures": n,
        "resources": resources,
    }


def screenshot(driver, out: Path, full_page: bool = True) -> Path:
    """Save a PNG of the page (the whole page when ``full_page``) to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": full_page}
    )
    out.write_bytes(base64.b64decode(shot["data"]))
    return out


def needs_browser() -> None:
    """Skip the calling test, with the reason, where no browser can run."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)


if __name__ == "__main__":
    page, png = Path(sys.argv[1]), Path(sys.argv[2])
    size = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (1400, 1000)
    with chromium(*size) as d:
        found = open_page(d, page)
        screenshot(d, png, full_page=False)
    print(png, found["figures"], "figures;", "errors:", found["errors"])
