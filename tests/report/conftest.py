"""Report fixtures: runs with exports and reports (built once per module), the browser."""

from __future__ import annotations

import pytest

from tests.report.browser import Browser, require_browser


@pytest.fixture(scope="session")
def browser():
    binary, driver = require_browser()
    b = Browser(binary, driver)
    yield b
    b.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-screenshots")
    print(f"\nreport screenshots in {folder}")
    return folder
