"""The `csv` data source: a folder of per-symbol CSV files, read directly (no import step).

Files are `<SYMBOL>.csv[.gz]` or `<SYMBOL>_<anything>.csv[.gz]` (e.g. `SPY_2011-01.csv`); all
files of a symbol are merged. They are parsed and validated by the same importer as
`mismartera data import` and kept in memory once read. The interval of each file is inferred
from its stamps (1m for minute data, 1d for date-only files) unless option `interval` says it.

Options: `path` (folder or one file, required), `exchange="XNYS"`, `interval` (optional),
`tz` (zone of naive stamps; default the exchange's).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mismartera import hookimpl
from mismartera.bars import Bars
from mismartera.errors import ConfigError, DataError
from mismartera.intervals import Interval

if TYPE_CHECKING:
    from datetime import date
    from zoneinfo import ZoneInfo

    from mismartera.calendar import TimeManager

_OPTIONS = ("path", "exchange", "interval", "tz")


def check_options(source: str, options: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """ConfigError naming the first unknown option and listing the valid ones."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown {source} source option {unknown[0]!r}: expected one of {', '.join(allowed)}"
        )


def text_option(source: str, name: str, value: Any) -> str:
    if not isinstance(value, str | Path) or not str(value).strip():
        raise ConfigError(f"{source} source option {name!r} must be a non-empty string, "
                          f"got {value!r}")
    return str(value).strip()


class FolderSource:
    """Bars from bar files in a folder (or one file), merged per (symbol, interval) and kept
    in memory once read. Subclasses say which files belong to which symbols."""

    name = "files"
    kind = "file"

    def __init__(self, **options: Any) -> None:
        check_options(self.name, options, _OPTIONS)
        if "path" not in options:
            raise ConfigError(f"{self.name} source needs option 'path': a folder of "
                              f"{self.kind} files or one such file")
        self.path = Path(text_option(self.name, "path", options["path"])).expanduser()
        if not self.path.exists():
            raise ConfigError(f"{self.name} source option 'path': {self.path} does not exist")
        self.exchange = text_option(self.name, "exchange", options.get("exchange", "XNYS"))
        self.interval: Interval | None = None
        if options.get("interval") is not None:
            try:
                self.interval = Interval.parse(options["interval"])
            except ConfigError as exc:
                raise ConfigError(f"{self.name} source option 'interval': {exc}") from None
        self._calendar: TimeManager | None = None
        self._tz: ZoneInfo | None = None
        if options.get("tz") is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            name = text_option(self.name, "tz", options["tz"])
            try:
                self._tz = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"{self.name} source option 'tz': unknown time zone {name!r}"
                ) from None
        self._lock = threading.RLock()
        self._files: dict[str, list[Path]] | None = None
        self._parsed: dict[tuple[Path, str], tuple[Interval, Bars]] = {}
        self._series: dict[tuple[str, str], Bars] = {}
        if not self.symbols():
            raise ConfigError(f"{self.name} source option 'path': no {self.kind} files in "
                              f"{self.path}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    # ------------------------------------------------------------------ files

    def scan(self) -> dict[str, list[Path]]:
        """Symbol -> its files (sorted)."""
        raise NotImplementedError

    def read_file(self, f: Path, symbol: str) -> tuple[Bars, Interval]:
        from mismartera.importer import read_bars

        return read_bars(f, self.tz(), self.interval, self._session_open_of, symbol=symbol)

    def calendar(self) -> TimeManager:
        if self._calendar is None:
            from mismartera.calendar import TimeManager

            self._calendar = TimeManager(self.exchange)
        return self._calendar

    def tz(self) -> ZoneInfo:
        """The zone of naive stamps: option `tz`, else the exchange's."""
        if self._tz is None:
            self._tz = self.calendar().tz
        return self._tz

    def _session_open_of(self, d: date) -> int | None:
        cal = self.calendar()
        if not cal.first_date <= d <= cal.last_date:
            return None
        hit = cal.session(d)
        return None if hit is None else hit[0]

    def _files_of(self, symbol: str) -> list[Path]:
        with self._lock:
            if self._files is None:
                self._files = self.scan()
            return self._files.get(symbol, [])

    def _load(self, symbol: str) -> dict[str, list[tuple[Path, Bars]]]:
        """The parsed files of `symbol`, grouped by interval name."""
        groups: dict[str, list[tuple[Path, Bars]]] = {}
        for f in self._files_of(symbol):
            key = (f, symbol)
            with self._lock:
                hit = self._parsed.get(key)
                if hit is None:
                    bars, iv = self.read_file(f, symbol)
                    hit = self._parsed[key] = (iv, bars)
            groups.setdefault(hit[0].name, []).append((f, hit[1]))
        return groups

    # ------------------------------------------------------------------ DataSource

    def symbols(self) -> list[str]:
        with self._lock:
            if self._files is None:
                self._files = self.scan()
            return sorted(self._files)

    def intervals(self, symbol: str) -> list[Interval]:
        sym = str(symbol).strip().upper()
        return sorted(Interval.parse(name) for name in self._load(sym))

    def bars(self, symbol: str, interval: Interval, start_ns: int, end_ns: int) -> Bars:
        """Bars with start_ns <= ts < end_ns; empty for a symbol or interval not held."""
        sym = str(symbol).strip().upper()
        name = Interval.parse(interval).name
        with self._lock:
            series = self._series.get((sym, name))
            if series is None:
                parts = self._load(sym).get(name)
                if not parts:
                    return Bars.empty()
                series = self._series[(sym, name)] = merge_files(sym, name, parts)
        return series.between(int(start_ns), int(end_ns))


def merge_files(symbol: str, interval: str, parts: list[tuple[Path, Bars]]) -> Bars:
    """One series from several files' bars: in time order, a bar repeated with the same
    values kept once; the same stamp with other values is a DataError naming both files."""
    if len(parts) == 1:
        return parts[0][1]
    bars = Bars.concat([b for _, b in parts])
    origin = np.concatenate([np.full(len(b), k, np.int64) for k, (_, b) in enumerate(parts)])
    order = np.argsort(bars.ts, kind="stable")
    bars, origin = bars.take(order), origin[order]
    same = bars.ts[1:] == bars.ts[:-1]
    if same.any():
        rows = np.flatnonzero(same)
        for a in bars[1:]:
            differ = a[rows] != a[rows + 1]
            if differ.any():
                i = int(rows[np.argmax(differ)])
                from datetime import UTC, datetime

                when = datetime.fromtimestamp(int(bars.ts[i]) / 1e9, UTC).isoformat()
                raise DataError(
                    f"{symbol} {interval}: {parts[origin[i]][0]} and {parts[origin[i + 1]][0]} "
                    f"hold different bars at {when}"
                )
        keep = np.ones(len(bars), np.bool_)
        keep[1:] = ~same
        bars = bars.take(keep)
    return bars


def symbol_of(path: Path, suffixes: tuple[str, ...]) -> str | None:
    """`SPY` for `SPY.csv`, `spy_2011-01.csv.gz`, ...; None when the suffix is not one of
    `suffixes` (lower case, longest first)."""
    name = path.name
    lower = name.lower()
    for suffix in suffixes:
        if lower.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            sym = stem.split("_", 1)[0].strip().upper()
            return sym or None
    return None


class CsvSource(FolderSource):
    """Per-symbol CSV files (plain or gzip) in a folder, read directly."""

    name = "csv"
    kind = "CSV"
    SUFFIXES = (".csv.gz", ".csv")

    def scan(self) -> dict[str, list[Path]]:
        files = [self.path] if self.path.is_file() else sorted(self.path.iterdir())
        out: dict[str, list[Path]] = {}
        for f in files:
            sym = symbol_of(f, self.SUFFIXES)
            if sym is not None and f.is_file():
                out.setdefault(sym, []).append(f)
        return out


@hookimpl
def register_data_sources(register) -> None:
    register(
        "csv",
        CsvSource,
        description="a folder of per-symbol CSV files (SYMBOL[_*].csv[.gz]) read directly",
    )
