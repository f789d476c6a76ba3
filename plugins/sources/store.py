"""The `store` data source: bars imported into the embedded DuckDB store (the default).

Options: `store` (the store file; default `$MISMARTERA_HOME/bars.duckdb`), `exchange`
(accepted for symmetry with the other sources; the store is exchange-agnostic).
The store is opened read-only, so several sessions can read it at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mismartera import hookimpl
from mismartera.bars import Bars
from mismartera.errors import ConfigError
from mismartera.intervals import Interval
from mismartera.store import BarStore, default_store_path
from mismartera.ticks import TickSeries

_OPTIONS = ("store", "exchange")
TICK_BAR_INTERVALS = (Interval.parse("1s"), Interval.parse("1m"))


class StoreSource:
    """Reads (symbol, interval) series from a BarStore opened read-only."""

    name = "store"

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ConfigError(
                f"unknown store source option {unknown[0]!r}: expected one of "
                f"{', '.join(_OPTIONS)}"
            )
        raw = options.get("store")
        if raw is not None and (not isinstance(raw, str | Path) or not str(raw).strip()):
            raise ConfigError(f"store source option 'store' must be a file path, got {raw!r}")
        path = Path(str(raw).strip()).expanduser() if raw is not None else default_store_path()
        if not path.exists():
            raise ConfigError(
                f"store source: {path} does not exist: import bars with "
                "`mismartera data import` first, or choose another source"
            )
        self.exchange = str(options.get("exchange", "XNYS"))
        self.path = path
        self.store = BarStore(path, read_only=True)

    def __repr__(self) -> str:
        return f"StoreSource({str(self.path)!r})"

    def symbols(self) -> list[str]:
        return self.store.symbols()

    def intervals(self, symbol: str) -> list[Interval]:
        """The stored intervals, and 1s and 1m when trades are stored (built from them)."""
        stored = self.store.intervals(symbol)
        if self._has_trades(symbol):
            stored = sorted({*stored, *TICK_BAR_INTERVALS})
        return stored

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> Bars:
        """Stored bars; of 1s / 1m not stored as bars, those built from the stored trades."""
        if interval in TICK_BAR_INTERVALS and interval not in self.store.intervals(symbol):
            # a trade in [start, end) belongs to a bucket starting in it, bucket starts
            # being multiples of the interval as start_ns is
            ticks = self.store.read_ticks(symbol, "ticks", start_ns, end_ns)
            return Bars.from_arrays(*ticks.to_bars(interval.ns))
        return self.store.read(symbol, interval, start_ns, end_ns)

    def _has_trades(self, symbol: str) -> bool:
        sym = str(symbol).strip().upper()
        return any(row[0] == sym for row in self.store.tick_summary("ticks"))

    def tick_records(self, symbol: str, kind: str, start_ns: int, end_ns: int) -> TickSeries:
        """Stored trades (`ticks`) or quotes of `symbol` (`data import --kind`)."""
        return self.store.read_ticks(symbol, kind, start_ns, end_ns)

    def close(self) -> None:
        self.store.close()


@hookimpl
def register_data_sources(register) -> None:
    register("store", StoreSource, description="bars imported into the embedded DuckDB store")
