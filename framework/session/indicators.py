"""IndicatorManager: session and historical indicators per symbol (built out in issue 6)."""

from __future__ import annotations

from typing import Any

from mismartera.errors import ConfigError


class IndicatorManager:
    """Builds each configured indicator per symbol and updates it as its interval closes bars."""

    def __init__(self, config: Any, plugins: Any) -> None:
        self.config = config
        self.plugins = plugins

    def validate(self) -> None:
        if self.config.indicators or self.config.historical_indicators:
            raise ConfigError("indicators are not available in this build yet")

    def history_days_needed(self) -> int:
        return 0

    def setup(self, session_date) -> None:  # noqa: ARG002
        pass

    def teardown(self) -> None:
        pass

    def prepare(self, session_data, symbol_data) -> None:  # noqa: ARG002
        pass

    def on_bars(self, symbol_data, changed) -> None:  # noqa: ARG002
        pass
