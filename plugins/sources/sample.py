"""The `sample` data source: real market data bundled with the package, so that
`mismartera demo` runs with no set-up.

SPY 1-minute bars for the 20 XNYS sessions of January 2011 (with the pre-market and
after-hours bars of the original data) and AAPL and MSFT daily bars for 2012-2014 (a daily
bar's ts is its session's open). Origin and licence: `sample_data/README.md`. The bars live
in `sample_data/bars.npz` as scaled integers and are decoded exactly on first use, once per
source instance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mismartera import hookimpl
from mismartera.bars import Bars
from mismartera.errors import ConfigError, DataError
from mismartera.intervals import Interval

DATA_FILE = Path(__file__).resolve().parent / "sample_data" / "bars.npz"
EXCHANGE = "XNYS"
_OPTIONS = ("exchange",)


def load_bundled(path: Path = DATA_FILE) -> dict[str, tuple[Bars, str]]:
    """Every bundled symbol's bars and interval name, decoded from `path`."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            out = {}
            for symbol in npz["symbols"].tolist():
                scale = float(npz[f"{symbol}.scale"])
                prices = npz[f"{symbol}.prices"].astype(np.float64) / scale
                volume = npz[f"{symbol}.volume"] / float(npz[f"{symbol}.volume_scale"])
                open_, high, low, close = prices
                bars = Bars.from_arrays(np.cumsum(npz[f"{symbol}.ts"]), open_, high, low, close,
                                        volume)
                out[symbol] = (bars, str(npz[f"{symbol}.interval"]))
            return out
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"the bundled sample data {path} cannot be read: {exc}") from None


class SampleSource:
    """Bars from the bundled sample data (XNYS only)."""

    name = "sample"

    def __init__(self, **options: Any) -> None:
        """Accepts `exchange` (which must be XNYS); any other option is a ConfigError."""
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ConfigError(
                f"unknown sample source option {unknown[0]!r}: expected one of "
                f"{', '.join(_OPTIONS)}"
            )
        exchange = str(options.get("exchange", EXCHANGE)).strip().upper()
        if exchange != EXCHANGE:
            raise ConfigError(
                f"sample source option 'exchange' must be {EXCHANGE} (the bundled data is "
                f"from that exchange), got {options['exchange']!r}"
            )
        self.exchange = exchange
        self._data: dict[str, tuple[Bars, Interval]] | None = None

    def __repr__(self) -> str:
        return "SampleSource()"

    def _loaded(self) -> dict[str, tuple[Bars, Interval]]:
        if self._data is None:
            self._data = {
                symbol: (bars, Interval.parse(interval))
                for symbol, (bars, interval) in load_bundled().items()
            }
        return self._data

    def symbols(self) -> list[str]:
        return sorted(self._loaded())

    def intervals(self, symbol: str) -> list[Interval]:
        hit = self._loaded().get(symbol)
        return [] if hit is None else [hit[1]]

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> Bars:
        """A copy of the bars with start_ns <= ts < end_ns; empty for another symbol or
        interval."""
        hit = self._loaded().get(symbol)
        if hit is None or Interval.parse(interval) != hit[1]:
            return Bars.empty()
        i, j = np.searchsorted(hit[0].ts, [start_ns, end_ns], side="left")
        return Bars._make(a[i:j].copy() for a in hit[0].columns)


@hookimpl
def register_data_sources(register) -> None:
    register(
        "sample",
        SampleSource,
        description="bundled real data: SPY 1m (January 2011), AAPL and MSFT daily (2012-2014)",
    )
