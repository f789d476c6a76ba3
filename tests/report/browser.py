"""A headless chromium (Debian's chromium and chromium-driver, driven by selenium) that opens
a report and says what it did: console errors, network requests, drawn charts."""

from __future__ import annotations

import json
import re
import shutil
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
