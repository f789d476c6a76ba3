"""Checks every report page gets in the browser: drawn offline without errors and with the
shared style (`_page.html.j2`), each section's screenshot kept and non-blank."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.report.browser import Browser, non_blank


def open_offline(browser: Browser, page: Path) -> None:
    """Open `page` and check it logged no console error, asked for nothing but itself and
    has the style every page shares."""
    browser.console(), browser.requests()  # drop what earlier pages logged
    browser.open(page)
    assert [e for e in browser.console() if e["level"] == "SEVERE"] == []
    urls = browser.requests()
    assert urls and all(u == page.resolve().as_uri() or u.startswith(("data:", "blob:"))
                        for u in urls), urls
    style = browser.js("""const s = e => getComputedStyle(document.querySelector(e));
        return [s('body').fontFamily, s('td.num').textAlign, s('table').borderCollapse]""")
    assert "system-ui" in style[0] and style[1:] == ["right", "collapse"], style


def keep_screenshot(browser: Browser, element: Any, file: Path) -> None:
    """Scroll `element` into view and screenshot it into `file`; it must be non-blank."""
    browser.js("arguments[0].scrollIntoView()", element)
    png = element.screenshot_as_png
    file.write_bytes(png)
    assert non_blank(png), f"{file.name} is blank"


def keep_section_screenshots(browser: Browser, folder: Path, prefix: str) -> None:
    """Screenshot each <section> into `folder` as PREFIX-ID.png; each must be non-blank."""
    for section in browser.driver.find_elements("css selector", "section"):
        keep_screenshot(browser, section, folder / f"{prefix}-{section.get_attribute('id')}.png")


def _rgb(colour: str) -> tuple[int, ...]:
    """'#rrggbb' or 'rgb(r, g, b)' as (r, g, b)."""
    if colour.startswith("#"):
        return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(int(float(v)) for v in colour[colour.index("(") + 1:-1].split(",")[:3])


def assert_red_to_green(browser: Browser, chart_id: str) -> None:
    """The first trace of chart `chart_id` is drawn with the colour scale it was given (plotly
    drops a scale name it does not know for its default), red at the low end, green at the
    high end."""
    given, drawn = browser.js("const t = document.getElementById(arguments[0]);"
                              "return [t.data[0].colorscale, t._fullData[0].colorscale]",
                              chart_id)
    assert isinstance(given, list) and drawn == given, (given, drawn)
    assert [given[0][0], given[-1][0]] == [0, 1]
    (r0, g0, _), (r1, g1, _) = _rgb(given[0][1]), _rgb(given[-1][1])
    assert r0 > g0 and g1 > r1, given
