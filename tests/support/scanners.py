"""Shared by the scanner tests: independent time and CSV readers, runs, test scanners, sources."""

from __future__ import annotations

import csv
import datetime
import functools
import json
import shutil
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import numpy as np

from mismartera import hookimpl
from mismartera.bars import Bars
from mismartera.config import SessionConfig
from mismartera.export import snapshot
from mismartera.intervals import Interval
from mismartera.plugins.scanners import gap, volume_surge
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.data import SessionData, SymbolSessionData
from mismartera.session.scanner import (
    ClosedBarsSource,
    DayCache,
    Param,
    ScanContext,
    Scanner,
    ScannerManager,
    ScanResult,
)
from tests.support.engine import CALENDAR, dumps, plugins

NY = ZoneInfo("America/New_York")
I1M = Interval.parse("1m")
MIN = 60_000_000_000
AUG = [datetime.date(2021, 8, 23), datetime.date(2021, 8, 24), datetime.date(2021, 8, 25)]


# --- independent helpers ----------------------------------------------------------------------


def ns(day: datetime.date, hh: int, mm: int, ss: int = 0) -> int:
    """A New York wall time as ns UTC, computed with zoneinfo (not the calendar under test)."""
    return int(datetime.datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=NY)
               .timestamp()) * 1_000_000_000


def close_of(day: datetime.date) -> datetime.time:
    return datetime.time(13, 0) if day == datetime.date(2014, 11, 28) else datetime.time(16, 0)


def session_of(day: datetime.date) -> tuple[int, int]:
    c = close_of(day)
    return ns(day, 9, 30), ns(day, c.hour, c.minute)


@functools.cache
def read_rows(path: Path) -> list[tuple[datetime.datetime, float, float, float]]:
    """(start, open, close, volume) of each row of a CSV file."""
    with path.open(newline="") as fh:
        return [(datetime.datetime.fromisoformat(r["timestamp"]), float(r["open"]),
                 float(r["close"]), float(r["volume"])) for r in csv.DictReader(fh)]


def regular(rows, day):
    """The rows of `day` inside its regular session."""
    return [r for r in rows
            if r[0].date() == day and datetime.time(9, 30) <= r[0].time() < close_of(day)]


# --- plugins and runs -------------------------------------------------------------------------


def with_builtins(harness):
    """The harness's manager with the built-in scanners (unless DEFAULT_PLUGINS has them)."""
    for module, name in ((gap, "gap"), (volume_surge, "volume_surge")):
        if name not in harness.manager.registered("scanner"):
            harness.register(module)
    return harness.manager


class Events:
    """Records symbol_added / symbol_removed with the clock time they happened at."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str, int]] = []

    @hookimpl
    def symbol_added(self, session_data, symbol):
        self.log.append(("add", symbol, session_data.now_ns))

    @hookimpl
    def symbol_removed(self, session_data, symbol):
        self.log.append(("remove", symbol, session_data.now_ns))


def config(folder: Path, symbols, start, end, scanners=()) -> SessionConfig:
    data = {
        "session": {"start": str(start), "end": str(end)},
        "data": {"source": "csv", "path": str(folder)},
        "symbols": {"list": list(symbols)},
        "streams": {"intervals": ["1m", "5m", "15m"]},
        "historical": {"trailing_days": 1},
        "scanners": list(scanners),
    }
    return SessionConfig.from_dict(data, origin="session.toml")


def run(harness, cfg: SessionConfig):
    """Run; returns (coordinator, {day: export}, symbol events after start-up). With no
    harness, the built-in plugins only and no events."""
    events = Events()
    if harness is not None:
        harness.register(events, name=f"events-{id(events)}")
    docs = {}
    coordinator = SessionCoordinator(cfg, plugins=harness.manager if harness else plugins(),
                                     calendar=CALENDAR)

    def on_day_end(coord, day):
        docs[day] = json.loads(dumps(snapshot(coord.session_data, coord.calendar)[0]))

    coordinator.run(on_day_end=on_day_end)
    first_open = session_of(coordinator.days[0])[0]
    log = [e for e in events.log if not (e[0] == "add" and e[2] == first_open
                                          and e[1] in cfg.symbols)]
    return coordinator, docs, log


def copy_aug(data: Path, folder: Path) -> Path:
    """Copy AAPL, MSFT and TSLA of August 2021 from the data folder into `folder`."""
    for sym in ("AAPL", "MSFT", "TSLA"):
        name = f"{sym}_2021-08.csv"
        shutil.copy(data / "minute" / name, folder / name)
    return folder


# --- test scanners ------------------------------------------------------------------------------


class Recorder(Scanner):
    """Records what it sees at each run."""

    params: ClassVar[dict[str, Param]] = {"symbol": Param("AAPL", str)}

    def __init__(self, **values) -> None:
        super().__init__(**values)
        self.log: list[tuple[int, int, int | None]] = []

    def scan(self, ctx: ScanContext) -> ScanResult:
        data = ctx.session_data.get(self.symbol)
        ts = data.base.bars().ts if data is not None else np.empty(0, np.int64)
        self.log.append((ctx.now_ns, ctx.session_data.now_ns, int(ts[-1]) if len(ts) else None))
        return ScanResult()


class Boom(Recorder):
    """Raises at its `fail_at`-th run of each day."""

    params: ClassVar[dict[str, Param]] = {"fail_at": Param(2, int, minimum=1)}

    def setup(self, session_date):
        self.today = 0

    def scan(self, ctx):
        self.today += 1
        self.log.append((ctx.now_ns, 0, None))
        if self.today == self.fail_at:
            raise ValueError("boom\nsecond line")
        return ScanResult()


class Garbage(Scanner):
    def scan(self, ctx):
        return "AAPL"


class BadSetup(Recorder):
    def setup(self, session_date):
        raise RuntimeError("no setup today")


class BadTeardown(Recorder):
    def teardown(self):
        raise KeyError("gone")


class Adder(Scanner):
    """Adds and removes fixed symbols: for the manager's bookkeeping."""

    params: ClassVar[dict[str, Param]] = {
        "add": Param(None, str, help="comma-separated symbols"),
        "remove": Param(None, str, help="comma-separated symbols"),
    }

    def scan(self, ctx):
        return ScanResult(tuple(self.add.split(",")) if self.add else (),
                          tuple(self.remove.split(",")) if self.remove else ())


class ScannersForTests:
    @staticmethod
    @hookimpl
    def register_scanners(register):
        register("recorder", Recorder, description="records its runs")
        register("boom", Boom, description="raises")
        register("garbage", Garbage)
        register("bad_setup", BadSetup)
        register("bad_teardown", BadTeardown)
        register("adder", Adder)


def manager(harness, *scanners, source=None) -> ScannerManager:
    cfg = SessionConfig.from_dict({"session": {"start": "2021-08-23", "end": "2021-08-25"},
                                   "data": {"source": "synthetic"},
                                   "symbols": {"list": ["SYN0"]},
                                   "scanners": list(scanners)}, origin="session.toml")
    m = ScannerManager(cfg, harness.manager, CALENDAR, source or MemorySource({}))
    m.validate()
    return m


# --- controlled universes --------------------------------------------------------------------


class MemorySource:
    """Bars held in memory, one interval per symbol."""

    name = "memory"

    def __init__(self, bars: dict[str, Bars], interval: Interval = I1M) -> None:
        self._bars, self.interval = bars, interval
        self.calls: list[tuple[str, int, int]] = []

    def symbols(self):
        return sorted(self._bars)

    def intervals(self, symbol):
        return [self.interval] if symbol in self._bars else []

    def bars(self, symbol, interval, start_ns, end_ns):
        self.calls.append((symbol, start_ns, end_ns))
        if symbol not in self._bars or interval != self.interval:
            return Bars.empty()
        return self._bars[symbol].between(start_ns, end_ns)


def make_bars(rows: list[tuple[int, float, float, float, float, float]]) -> Bars:
    rows = sorted(rows)
    return Bars.from_arrays(*zip(*rows, strict=True)) if rows else Bars.empty()


def flat(ts: int, price: float, volume: float = 100.0):
    return (ts, price, price, price, price, volume)


def day_cache(source, day) -> DayCache:
    return DayCache(source, ns(day, 0, 0), ns(day + datetime.timedelta(days=1), 0, 0),
                    *session_of(day))


def context(source, day, now, universe, in_session=(), added=(), cached=False) -> ScanContext:
    """What the manager gives a scan; `cached` as in a backtest (the day read once), else as
    in a live session (every read goes to the source)."""
    open_ns, close_ns = CALENDAR.session(day)
    sd = SessionData()
    for sym in in_session:
        sd.register(SymbolSessionData(sym, I1M, [I1M], {I1M: 4}))
    view = ClosedBarsSource(source, now, CALENDAR, close_ns,
                            day_cache(source, day) if cached else None)
    return ScanContext(scanner="test", date=day, now_ns=now, open_ns=open_ns, close_ns=close_ns,
                       calendar=CALENDAR, source=view, session_data=sd,
                       universe=tuple(universe), added=frozenset(added))
