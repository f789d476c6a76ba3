"""The report in a real headless browser (Debian's chromium through selenium): no console
error, no network request, every chart drawn, the interval selector switches series, each
section's screenshot is non-blank; over the real SPY/AAPL November 2014 minute files the
Thanksgiving holiday is absent and the next day's early close is marked."""

from __future__ import annotations

import itertools
import json
import shutil

import pytest

from tests.report.browser import data_of, non_blank
from tests.report.test_report import cli
from tests.support.data import require_data


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report-browser")
    page = tmp / "demo.html"
    result = cli(["demo", "--quiet", "--end", "2011-01-12", "--strategy",
                  "sma_cross:fast=10,slow=30@5m", "--report", str(page)])
    assert result.exit_code == 0, result.output
    return page


def test_the_page_draws_offline_without_errors(browser, demo_page, screenshots):
    browser.console(), browser.requests()  # drop what earlier pages logged
    browser.open(demo_page)
    errors = [e for e in browser.console() if e["level"] == "SEVERE"]
    assert errors == []
    urls = browser.requests()
    assert urls and all(u == demo_page.resolve().as_uri() or u.startswith(("data:", "blob:"))
                        for u in urls), urls
    charts = browser.js("""return [...document.querySelectorAll('[data-chart]')].map(el => [
        el.id, el.classList.contains('js-plotly-plot'), (el._fullData || []).length,
        el.querySelectorAll('svg.main-svg').length])""")
    assert {c[0] for c in charts} == {"chart-quality", "chart-SPY", "chart-equity"}
    for chart_id, plotted, traces, svgs in charts:
        assert plotted and traces > 0 and svgs > 0, chart_id
    for section in browser.driver.find_elements("css selector", "section"):
        name = section.get_attribute("id")
        browser.js("arguments[0].scrollIntoView()", section)
        png = section.screenshot_as_png
        (screenshots / f"demo-{name}.png").write_bytes(png)
        assert non_blank(png), f"section {name} is blank"


def test_the_interval_selector_switches_series(browser, demo_page):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.open(demo_page)
    model = data_of(demo_page)["symbols"]["SPY"]["intervals"]
    count = "return document.getElementById('chart-SPY').data[0].x.length"
    assert browser.js(count) == len(model["1m"]["ts"])
    select = Select(browser.driver.find_element("css selector", "select[data-symbol=SPY]"))
    assert [o.get_attribute("value") for o in select.options] == list(model)
    for name in ("15m", "1h", "1m"):
        select.select_by_value(name)
        WebDriverWait(browser.driver, 20).until(
            lambda d, n=name: d.execute_script("return window.reportCharts.SPY") == n)
        assert browser.js(count) == len(model[name]["ts"])
        assert browser.js("return document.getElementById('chart-SPY').data[0].close"
                          ) == model[name]["close"]
    traces = browser.js("return document.getElementById('chart-SPY')"
                        ".data.map(t => [t.name, t.yaxis])")
    assert ["rsi_14_1m", "y3"] in traces and ["vwap_1m", "y"] in traces  # oscillator panel


@pytest.fixture(scope="module")
def nov2014_page(tmp_path_factory):
    data = require_data() / "minute"
    tmp = tmp_path_factory.mktemp("report-nov2014")
    (tmp / "bars").mkdir()
    for name in ("SPY_2014-11.csv", "AAPL_2014-11.csv"):
        shutil.copy(data / name, tmp / "bars" / name)
    session = tmp / "session.toml"
    session.write_text(f"""
[session]
exchange = "XNYS"
start = 2014-11-19
end = 2014-12-03

[data]
source = "csv"
path = "{tmp / 'bars'}"

[symbols]
list = ["SPY", "AAPL"]

[streams]
intervals = {json.dumps(["1m", "5m", "15m", "1h"])}
""")
    result = cli(["backtest", str(session), "--quiet", "--indicator", "sma:period=20@5m",
                  "--export-dir", str(tmp / "exp"), "--report", str(tmp / "nov.html")])
    assert result.exit_code == 0, result.output
    return tmp


def test_real_files_holiday_absent_early_close_marked(browser, nov2014_page, screenshots):
    page = nov2014_page / "nov.html"
    model = data_of(page)
    days = [s["date"] for s in model["sessions"]]
    assert "2014-11-27" not in days and len(days) == 10
    assert model["summary"]["holidays"] == ["2014-11-27"]
    assert [e["date"] for e in model["summary"]["early_closes"]] == ["2014-11-28"]
    assert model["summary"]["early_closes"][0]["close"].startswith("2014-11-28T13:00")
    spy = model["symbols"]["SPY"]["intervals"]["1m"]
    assert not any(t.startswith("2014-11-27") for t in spy["ts"])
    assert sum(t.startswith("2014-11-28") for t in spy["ts"]) == 210
    browser.open(page)
    assert [e for e in browser.console() if e["level"] == "SEVERE"] == []
    for symbol in ("SPY", "AAPL"):
        notes = browser.js(f"return document.getElementById('chart-{symbol}')"
                           ".layout.annotations.map(a => a.text)")
        assert "early close 2014-11-28" in notes
        # the axis hides exactly what lies between consecutive sessions (the holiday, the
        # weekend, the hours after the early close), in disjoint breaks: overlapping ones
        # made plotly draw two days over each other
        breaks = browser.js(f"return document.getElementById('chart-{symbol}')"
                            ".layout.xaxis.rangebreaks.map(b => b.bounds)")
        sessions = model["sessions"]
        assert breaks == [[a["close"].replace("T", " "), b["open"].replace("T", " ")]
                          for a, b in itertools.pairwise(sessions)]
        assert ["2014-11-26 16:00:00", "2014-11-28 09:30:00"] in breaks
        assert ["2014-11-28 13:00:00", "2014-12-01 09:30:00"] in breaks
    section = browser.driver.find_element("id", "symbol-SPY")
    browser.js("arguments[0].scrollIntoView()", section)
    png = section.screenshot_as_png
    (screenshots / "nov2014-SPY.png").write_bytes(png)
    assert non_blank(png)
    # the same numbers as the exports, read back from the page
    rebuilt = cli(["report", str(nov2014_page / "exp"), "-o", str(nov2014_page / "later.html")])
    assert rebuilt.exit_code == 0, rebuilt.output
    later = data_of(nov2014_page / "later.html")
    assert later["quality"] == model["quality"] and later["gaps"] == model["gaps"]


def test_the_comparison_draws_every_run(browser, tmp_path):
    for name, params in (("a", "fast=10,slow=30"), ("b", "fast=5,slow=20")):
        result = cli(["demo", "--quiet", "--end", "2011-01-06", "--strategy",
                      f"sma_cross:{params}@5m", "--export-dir", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    page = tmp_path / "compare.html"
    result = cli(["report", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(page)])
    assert result.exit_code == 0, result.output
    browser.console()
    browser.open(page)
    assert [e for e in browser.console() if e["level"] == "SEVERE"] == []
    traces = browser.js("""return Object.fromEntries([...document.querySelectorAll('[data-chart]')]
        .map(el => [el.id, (el._fullData || []).map(t => t.name)]))""")
    assert traces["chart-equity"] == ["a", "a drawdown", "b", "b drawdown"]
    assert traces["chart-quality"] == ["a", "b"]
    assert len(data_of(page)["runs"]) == 2
