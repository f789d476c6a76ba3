"""The report in a real headless browser (Debian's chromium through selenium): no console
error, no network request, every chart drawn, the interval selector switches series, each
section's screenshot is non-blank; zoomed out a chart draws a coarser interval within its bar
budget and zoomed in the chosen one again; over the real SPY/AAPL November 2014 minute files
the Thanksgiving holiday takes no room and the next day's early close is marked; over the
real 2021-08 files each drop-out is a shaded rectangle drawn in the SVG where it is."""

from __future__ import annotations

import itertools
import json
import shutil

import pytest

from tests.report.browser import data_of, relayout, summary, time_steps
from tests.report.pages import (
    assert_red_to_green,
    keep_screenshot,
    keep_section_screenshots,
    open_offline,
)
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
    open_offline(browser, demo_page)
    charts = browser.js("""return [...document.querySelectorAll('[data-chart]')].map(el => [
        el.id, el.classList.contains('js-plotly-plot'), (el._fullData || []).length,
        el.querySelectorAll('svg.main-svg').length])""")
    assert {c[0] for c in charts} == {"chart-quality", "chart-SPY", "chart-equity"}
    for chart_id, plotted, traces, svgs in charts:
        assert plotted and traces > 0 and svgs > 0, chart_id
    # a symbol's candles and volume bars are two bitmaps plotly places on its axes
    images = browser.js("""return [...document.querySelectorAll('#chart-SPY .imagelayer image')]
        .map(i => (i.getAttribute('href') || i.getAttribute('xlink:href') || '').slice(0, 22))""")
    assert images == ["data:image/png;base64,"] * 2
    assert_red_to_green(browser, "chart-quality")
    keep_section_screenshots(browser, screenshots, "demo")


def test_the_interval_selector_switches_series(browser, demo_page):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.open(demo_page)
    model = data_of(demo_page)["symbols"]["SPY"]["intervals"]
    select = Select(browser.driver.find_element("css selector", "select[data-symbol=SPY]"))
    assert [o.get_attribute("value") for o in select.options] == list(model)
    for name in ("15m", "1h", "1m"):
        select.select_by_value(name)
        WebDriverWait(browser.driver, 20).until(
            lambda d, n=name: d.execute_script("return window.reportCharts.SPY") == n)
        report = browser.js("return document.getElementById('chart-SPY')._report")
        # the chosen interval opens at its last whole sessions that fit the bar budget
        assert report["chosen"] == report["drawn"] == name
        assert 0 < report["inView"] <= report["lod"]
        lo, hi = report["cut"]
        hover = browser.js("const t = document.getElementById('chart-SPY').data[0];"
                           "return [t.y, t.text]")
        assert hover[0] == model[name]["close"][lo:hi]
        assert [t[:16] for t in hover[1]] == [t.replace("T", " ")[:16]
                                              for t in model[name]["ts"][lo:hi]]
        assert hi == len(model[name]["ts"])  # the opening view ends at the last bar
    traces = browser.js("return document.getElementById('chart-SPY')"
                        ".data.map(t => [t.name, t.yaxis])")
    assert ["rsi_14_1m", "y3"] in traces and ["vwap_1m", "y"] in traces  # oscillator panel


def test_zoomed_out_a_coarser_interval_within_the_budget(browser, demo_page):
    """The level of detail: the whole run in view is more 1m bars than the budget, so the
    chart draws the finest coarser interval that fits; zoomed back in it draws 1m again; a
    pan within what it has drawn redraws nothing of its own."""
    browser.open(demo_page)
    model = data_of(demo_page)["symbols"]["SPY"]["intervals"]
    order = list(model)
    opening = browser.js("return document.getElementById('chart-SPY')._report")
    assert opening["drawn"] == "1m" and len(model["1m"]["ts"]) > opening["lod"]
    wide = relayout(browser, "chart-SPY", {"xaxis.autorange": True})
    assert wide["chosen"] == "1m" and order.index(wide["drawn"]) > 0
    assert 0 < wide["inView"] <= wide["lod"]
    finer = order[order.index(wide["drawn"]) - 1]
    assert len(model[finer]["ts"]) > wide["lod"]  # the finer one would not have fitted
    assert browser.js("return document.getElementById('chart-SPY').dataset.drawn") == wide["drawn"]
    back = relayout(browser, "chart-SPY", {"xaxis.range": opening["view"]})
    assert back["drawn"] == "1m" and back["inView"] == opening["inView"]
    a, z = back["view"]
    shift = (z - a) / 10
    panned = relayout(browser, "chart-SPY", {"xaxis.range": [a - shift, z - shift]})
    assert panned["counts"]["cuts"] == back["counts"]["cuts"]
    assert panned["counts"]["paints"] == back["counts"]["paints"]


def test_pan_and_zoom_steps_are_timed(browser, demo_page):
    """The bench's measuring helper runs on a page (its numbers are not checked here)."""
    browser.open(demo_page)
    for kind in ("pan", "zoom"):
        result = time_steps(browser, kind, steps=4)
        assert result["chart"] == "chart-SPY" and len(result["times"]) == 4
        median, p95 = summary(result["times"])
        assert 0 < median <= p95


def real_run(tmp, month, symbols, start, end, intervals, *args):
    """A backtest over the real minute files of `month` (../shared/data) with its report
    (tmp/report.html) and exports (tmp/exp); the files are copied to tmp/bars."""
    data = require_data() / "minute"
    (tmp / "bars").mkdir()
    for symbol in symbols:
        shutil.copy(data / f"{symbol}_{month}.csv", tmp / "bars" / f"{symbol}_{month}.csv")
    config = {"session": {"exchange": "XNYS", "start": start, "end": end},
              "data": {"source": "csv", "path": str(tmp / "bars")},
              "symbols": {"list": symbols}, "streams": {"intervals": intervals}}
    session = tmp / "session.toml"
    session.write_text("\n".join(f"[{k}]\n" + "\n".join(f"{key} = {json.dumps(v)}"
                                                       for key, v in table.items())
                                 for k, table in config.items()))
    result = cli(["backtest", str(session), "--quiet", "--export-dir", str(tmp / "exp"),
                  "--report", str(tmp / "report.html"), *args])
    assert result.exit_code == 0, result.output
    return tmp


@pytest.fixture(scope="module")
def nov2014_page(tmp_path_factory):
    return real_run(tmp_path_factory.mktemp("report-nov2014"), "2014-11", ["SPY", "AAPL"],
                    "2014-11-19", "2014-12-03", ["1m", "5m", "15m", "1h"],
                    "--indicator", "sma:period=20@5m")


def test_real_files_holiday_absent_early_close_marked(browser, nov2014_page, screenshots):
    page = nov2014_page / "report.html"
    model = data_of(page)
    days = [s["date"] for s in model["sessions"]]
    assert "2014-11-27" not in days and len(days) == 10
    assert model["summary"]["holidays"] == ["2014-11-27"]
    assert [e["date"] for e in model["summary"]["early_closes"]] == ["2014-11-28"]
    assert model["summary"]["early_closes"][0]["close"].startswith("2014-11-28T13:00")
    spy = model["symbols"]["SPY"]["intervals"]["1m"]
    assert not any(t.startswith("2014-11-27") for t in spy["ts"])
    assert sum(t.startswith("2014-11-28") for t in spy["ts"]) == 210
    open_offline(browser, page)
    # the session axis: what lies between two sessions (the holiday, the weekend, the hours
    # after the early close) takes no room
    x = "return window.reportAxis.toX(arguments[0])"
    for before, after in itertools.pairwise(model["sessions"]):
        assert browser.js(x, before["close"]) == browser.js(x, after["open"])
    assert browser.js(x, "2014-11-26T16:00:00") == browser.js(x, "2014-11-28T09:30:00")
    assert browser.js(x, "2014-11-28T13:00:00") == browser.js(x, "2014-12-01T09:30:00")
    for symbol in ("SPY", "AAPL"):
        view = [browser.js(x, "2014-11-26T09:30:00"), browser.js(x, "2014-12-01T16:00:00")]
        relayout(browser, f"chart-{symbol}", {"xaxis.range": view})
        layout = browser.js(f"const l = document.getElementById('chart-{symbol}').layout;"
                            "return [l.annotations.map(a => a.text), l.xaxis.ticktext]")
        assert "early close 2014-11-28" in layout[0]
        assert "Nov 28" in layout[1] and "Nov 27" not in layout[1]
    keep_screenshot(browser, browser.driver.find_element("id", "symbol-SPY"),
                    screenshots / "nov2014-SPY.png")
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
    open_offline(browser, page)
    traces = browser.js("""return Object.fromEntries([...document.querySelectorAll('[data-chart]')]
        .map(el => [el.id, (el._fullData || []).map(t => t.name)]))""")
    assert traces["chart-equity"] == ["a", "a drawdown", "b", "b drawdown"]
    assert traces["chart-quality"] == ["a", "b"]
    assert len(data_of(page)["runs"]) == 2


AUG = ["AAPL", "MSFT", "TSLA"]


@pytest.fixture(scope="module")
def aug2021_page(tmp_path_factory):
    return real_run(tmp_path_factory.mktemp("report-aug2021"), "2021-08", AUG,
                    "2021-08-23", "2021-08-25", ["1m", "5m"])


def dropouts(csv_file, days):
    """Runs of regular-session minutes (09:30-16:00 local) a minute file lacks, per day: read
    with the csv module, as [first missing, last missing] local stamps."""
    import csv
    import datetime

    with csv_file.open(newline="") as fh:
        present = {r["timestamp"][:19] for r in csv.DictReader(fh)}
    runs = []
    for day in days:
        t = datetime.datetime.fromisoformat(f"{day}T09:30:00")
        run = None
        for _ in range(390):
            stamp = t.isoformat()
            if stamp not in present:
                run = [run[0], stamp] if run else [stamp, stamp]
            elif run:
                runs.append(run)
                run = None
            t += datetime.timedelta(minutes=1)
        if run:
            runs.append(run)
    return runs


def test_real_files_gaps_shaded_where_they_are(browser, aug2021_page, screenshots):
    page, bars = aug2021_page / "report.html", aug2021_page / "bars"
    model = data_of(page)
    days = [s["date"] for s in model["sessions"]]
    assert days == ["2021-08-23", "2021-08-24", "2021-08-25"]
    open_offline(browser, page)
    for symbol in AUG:
        expected = dropouts(bars / f"{symbol}_2021-08.csv", days)
        assert expected, symbol  # each day one vendor drop-out per symbol
        gaps = [g for g in model["gaps"] if g["symbol"] == symbol and g["interval"] == "1m"]
        assert [[g["start"], g["end"]] for g in gaps] == expected
        report = relayout(browser, f"chart-{symbol}", {"xaxis.autorange": True})
        assert report["drawn"] == "1m"  # the whole run fits the budget
        # each gap is an orange rectangle in the SVG, spanning the gap's place on the x axis
        drawn = browser.js("""
            const el = document.getElementById(arguments[0]), xa = el._fullLayout.xaxis;
            const px = s => xa.l2p(window.reportAxis.toX(s)) + xa._offset;
            const rects = [...el.querySelectorAll('.shapelayer path')]
              .filter(p => (p.style.fill || '').startsWith('rgb(255, 140, 0'))
              .map(p => { const b = p.getBBox(); return [b.x, b.x + b.width, b.height]; });
            return [rects, arguments[1].map(g => [px(g[0]), px(g[1])])];
            """, f"chart-{symbol}", [[g["start"], g["until"]] for g in gaps])
        rects, spans = drawn
        assert len(rects) == len(spans), (rects, spans)
        for (left, right, height), (x0, x1) in zip(sorted(rects), sorted(spans), strict=True):
            assert height > 100  # the whole height of the plot
            assert left <= x0 + 1 and right >= x1 - 1 and right - left >= 2
    keep_screenshot(browser, browser.driver.find_element("id", "symbol-TSLA"),
                    screenshots / "aug2021-TSLA.png")
