"""A headless chromium (Debian's chromium and chromium-driver, driven by selenium) that opens
a report and says what it did: console errors, network requests, drawn charts."""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def data_of(html: str | Path) -> dict[str, Any]:
    """The model embedded in a report page (`#report-data`)."""
    text = Path(html).read_text() if isinstance(html, Path) else html
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                      text, re.S)
    assert match is not None, "no embedded report data"
    return json.loads(match.group(1))


def find_chromium() -> tuple[str, str] | None:
    binary = next((p for p in map(shutil.which, CHROMIUM) if p), None)
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


def require_browser() -> tuple[str, str]:
    found = find_chromium()
    if found is None:
        pytest.skip("chromium and chromedriver are not installed (Debian: apt-get install "
                    "chromium chromium-driver; .ci/run installs them)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    return found


class Browser:
    def __init__(self, binary: str, driver: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1400,1000", "--disable-background-networking",
                    "--enable-unsafe-swiftshader",
                    "--disable-component-update", "--no-first-run"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(driver), options=options)

    def open(self, path: Path, timeout: float = 60.0) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.get(path.resolve().as_uri())
        WebDriverWait(self.driver, timeout).until(
            lambda d: d.execute_script("return window.reportReady") is not None)
        assert self.js("return window.reportReady") is True, self.console()

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def console(self) -> list[dict[str, Any]]:
        return self.driver.get_log("browser")

    def requests(self) -> list[str]:
        """Every URL the page asked for (the DevTools Network log)."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def close(self) -> None:
        self.driver.quit()


def non_blank(png: bytes) -> bool:
    """More than a handful of distinct colours: something was drawn."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    return colours is None or len(colours) > 8


# One chart's interaction cost, measured in the page: each step is a `Plotly.relayout` of the
# x range (a pan by a share of the view's width, or a zoom about the view's middle), awaited,
# then whatever the page's own relayout handler started (`el._reportIdle`, the level-of-detail
# swap), then one animation frame (the paint).
_STEPS_JS = """
const done = arguments[arguments.length - 1];
const [chartId, kind, steps, share, start] = arguments;
(async () => {
  const bars = el => { const s = window.reportData.symbols[el.dataset.symbol];
                      return s.intervals[el.dataset.interval].ts.length; };
  const el = chartId ? document.getElementById(chartId)
    : [...document.querySelectorAll('[data-chart=symbol]')].sort((a, b) => bars(b) - bars(a))[0];
  el.scrollIntoView();
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  for (let i = 0; i < 600 && !(el.data && el._fullLayout); i++) await sleep(50);
  const ax = () => el._fullLayout.xaxis;
  const isDate = ax().type === 'date';
  const toN = v => isDate ? new Date(String(v).replace(' ', 'T') + 'Z').getTime() : +v;
  const fromN = v => isDate ? new Date(v).toISOString().slice(0, 19).replace('T', ' ') : v;
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const settle = async () => { while (el._reportIdle) await el._reportIdle; await frame(); };
  const to = async (a, z) => {
    await Plotly.relayout(el, {'xaxis.range': [fromN(a), fromN(z)]});
    await settle();
  };
  await settle();
  let [a, z] = ax().range.map(toN);
  if (start === 'wide') {  // the last quarter of the whole x range
    await Plotly.relayout(el, {'xaxis.autorange': true}); await settle();
    [a, z] = ax().range.map(toN);
    a = z - (z - a) / 4;
    await to(a, z);
  }
  const times = [], drawn = [];
  for (let i = 0; i < steps; i++) {
    const w = z - a, sign = i < steps / 2 ? -1 : 1;
    if (kind === 'zoom') { const m = (a + z) / 2, f = sign < 0 ? 1 - share : 1 / (1 - share);
                           a = m - f * w / 2; z = m + f * w / 2; }
    else { a += sign * share * w; z += sign * share * w; }
    const t0 = performance.now();
    await to(a, z);
    times.push(performance.now() - t0);
    drawn.push(el.data.reduce((n, t) => n + (t.visible === false ? 0 : t.x.length), 0));
  }
  return {chart: el.id, times, drawn, interval: el.dataset.drawn || el.dataset.interval};
})().then(done, e => done({error: String(e && e.stack || e)}));
"""


def time_steps(browser: Browser, kind: str = "pan", steps: int = 20, share: float = 0.1,
               chart_id: str | None = None, start: str = "view") -> dict[str, Any]:
    """Time `steps` relayouts of a symbol chart (default: the one drawing the most points):
    `kind` "pan" shifts the x range by `share` of its width (the first half of the steps
    left, then back right), "zoom" narrows it by `share` about its middle (then widens it
    again); `start` "view" begins at the chart's initial view, "wide" at the last quarter of
    its whole x range.
    Returns the step times (ms, each up to the next painted frame), the points drawn after
    each step, the chart and the interval it ended on."""
    browser.driver.set_script_timeout(600)
    result = browser.driver.execute_async_script(_STEPS_JS, chart_id, kind, steps, share, start)
    assert "error" not in result, result
    return result


def summary(times: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank) of step times."""
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, max(0, math.ceil(0.95 * len(ordered)) - 1))]
    return statistics.median(ordered), p95


_RELAYOUT_JS = """
const done = arguments[arguments.length - 1];
const [chartId, update] = arguments;
(async () => {
  const el = document.getElementById(chartId);
  el.scrollIntoView();
  await Plotly.relayout(el, update);
  while (el._reportIdle) await el._reportIdle;
  return el._report || null;
})().then(done, e => done({error: String(e && e.stack || e)}));
"""


def relayout(browser: Browser, chart_id: str, update: dict[str, Any]) -> dict[str, Any] | None:
    """`Plotly.relayout(chart, update)` as a user's pan or zoom does it, awaited with what the
    page redraws in turn; returns the chart's `_report` (what it draws) afterwards."""
    result = browser.driver.execute_async_script(_RELAYOUT_JS, chart_id, update)
    assert not (isinstance(result, dict) and "error" in result), result
    return result
