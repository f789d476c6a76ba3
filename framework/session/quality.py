"""DataQualityManager: gaps and quality per symbol and interval, throttled by session time."""

from __future__ import annotations

from mismartera.session.data import SessionData, SymbolSessionData


class DataQualityManager:
    """Updates `quality` and `gaps` of every interval of every symbol in SessionData.

    Operational state only: the session time of the last update (for throttling)."""

    def __init__(self, interval_s: float = 60.0) -> None:
        self.interval_ns = int(interval_s * 1e9)
        self._last: int | None = None

    def setup(self, session_date) -> None:
        self._last = None

    def teardown(self) -> None:
        self._last = None

    def update(self, session_data: SessionData, now_ns: int, force: bool = False) -> bool:
        """Take quality as of `now_ns` if `interval_s` of session time passed since the last
        update (or `force`). Returns True when it ran."""
        if not force and self._last is not None and now_ns - self._last < self.interval_ns:
            return False
        self._last = now_ns
        session_data.take_quality_time(now_ns)
        return True

    @property
    def last(self) -> int | None:
        """The session time quality was last taken at (None: not yet this session)."""
        return self._last

    def catch_up(self, session_data: SessionData, last: int | None) -> None:
        """Quality taken at `last` by steps run elsewhere (compiled stepping that keeps the
        throttle of the steps it skips): the time of the last of them."""
        if last is not None and last != self._last:
            self._last = last
            session_data.take_quality_time(last)

    @staticmethod
    def update_symbol(session_data: SessionData, symbol_data: SymbolSessionData,
                      now_ns: int) -> None:
        """Take the symbol's quality as of `now_ns` afresh (worked out when read)."""
        symbol_data.take_quality(now_ns)

    @staticmethod
    def historical(symbol_data: SymbolSessionData) -> None:
        """Quality and gaps of the trailing historical days, per interval: worked out when
        first read (`symbol_data.historical.quality` / `.gaps`), each day's only once."""
        symbol_data.historical.forget_quality()
