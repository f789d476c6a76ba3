"""ScannerManager: runs scanners at their scheduled times and asks for symbol changes."""

from __future__ import annotations

from typing import Any

from mismartera.errors import ConfigError


class ScannerManager:
    """Builds the configured scanners and runs them at their times (issue 7 fills this in).

    The coordinator calls `next_time(now)` to end a clock chunk at the next scheduled run,
    and `run_due(now, session_data)` after each chunk; the returned (op, symbol) pairs are
    applied through `add_symbol` / `remove_symbol`."""

    def __init__(self, config: Any, plugins: Any, calendar: Any, source: Any) -> None:
        self.config = config
        self.plugins = plugins
        self.calendar = calendar
        self.source = source

    def validate(self) -> None:
        if self.config.scanners:
            raise ConfigError("scanners are not available in this build yet")

    def setup(self, session_date) -> None:  # noqa: ARG002
        pass

    def teardown(self) -> None:
        pass

    def next_time(self, now_ns: int) -> int | None:  # noqa: ARG002
        return None

    def run_due(self, now_ns: int, session_data) -> list[tuple[str, str]]:  # noqa: ARG002
        return []
