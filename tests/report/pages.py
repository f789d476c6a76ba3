"""Checks every report page gets in the browser: drawn offline without errors and with the
shared style (`_style.css.j2`), each section's screenshot kept and non-blank."""

from __future__ import annotations

from pathlib import Path

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


def keep_section_screenshots(browser: Browser, folder: Path, prefix: str) -> None:
    """Screenshot each <section> into `folder` as PREFIX-ID.png; each must be non-blank."""
    for section in browser.driver.find_elements("css selector", "section"):
        name = section.get_attribute("id")
        browser.js("arguments[0].scrollIntoView()", section)
        png = section.screenshot_as_png
        (folder / f"{prefix}-{name}.png").write_bytes(png)
        assert non_blank(png), f"section {name} is blank"
