"""The `volume_surge` scanner: symbols whose volume in the last `window` minutes exceeds
`factor` x its trailing average for the same time of the session.

At `now` the window is the bars of today's session that start at or after
`max(open, now - window)` and have closed by `now`, as slots of the symbol's smallest
intraday interval counted from the open (for XNYS, the same local time of day). For each
of the `lookback` trading days before today, the same slots are summed; a trailing day
counts when it holds at least one bar of that symbol in its session and its session lasts
past the window (an early close before the window's end leaves it out). A missing bar counts
as zero volume. With at least `min_days` such days:

    qualifies: window volume today > factor x mean(window volume of the counted days)

Symbols that qualify and are not in the session are added, strongest surge first (ties by
symbol). With `remove = true`, symbols this entry added earlier that got a verdict and no
longer qualify are removed. Before the open, or while the window holds no whole bar, there is
no verdict.

Trailing volumes are read from the source once per day (one call per symbol) and kept as
cumulative sums per slot, so a scan costs one small source call per symbol plus a few numpy
operations over all symbols.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mismartera import hookimpl
from mismartera.bars import Bars
from mismartera.errors import ConfigError
from mismartera.intervals import Interval
from mismartera.session.scanner import Param, ScanContext, Scanner, ScanResult

MINUTE_NS = 60_000_000_000


@dataclass
class _Profile:
    """Trailing window volumes of the symbols that share one interval."""

    interval: Interval
    symbols: list[str]
    cum: np.ndarray  # (symbols, days, slots + 1): volume of slots < k on each day
    present: np.ndarray  # (symbols, days): the day holds a bar of the symbol
    day_ns: np.ndarray  # (days,): session length
    today: np.ndarray  # (symbols, slots today): today's volume per slot read so far
    read_until: int  # today's bars with ts < read_until have been read (ns)


def _cumulative(parts: list[Bars], opens: np.ndarray, step_ns: int, slots: int) -> np.ndarray:
    """(days, slots + 1) cumulative volume per slot from each day's session bars."""
    counts = np.array([len(p.ts) for p in parts], dtype=np.int64)
    volume = np.zeros((len(parts), slots), dtype=np.float64)
    if counts.sum():
        bars = Bars.concat(parts)
        day = np.repeat(np.arange(len(parts)), counts)
        volume[day, (bars.ts - opens[day]) // step_ns] = bars.volume
    out = np.zeros((len(parts), slots + 1), dtype=np.float64)
    np.cumsum(volume, axis=1, out=out[:, 1:])
    return out


class VolumeSurgeScanner(Scanner):
    """Volume of the last `window` minutes vs `factor` x its trailing same-time average."""

    params: ClassVar[dict[str, Param]] = {
        "factor": Param(3.0, float, minimum=0.0, strict=True,
                        help="multiple of the trailing average that qualifies"),
        "window": Param(5, int, minimum=1, help="minutes of volume to compare"),
        "lookback": Param(10, int, minimum=1, help="trailing trading days averaged"),
        "min_days": Param(1, int, minimum=1,
                          help="trailing days with data needed for a verdict"),
        "remove": Param(False, bool, help="remove symbols this scanner added that no longer "
                                          "qualify"),
    }

    factor: float
    window: int
    lookback: int
    min_days: int
    remove: bool

    def __init__(self, **values) -> None:
        super().__init__(**values)
        self._profiles: list[_Profile] | None = None

    def setup(self, session_date: datetime.date) -> None:
        self._profiles = None

    def teardown(self) -> None:
        self._profiles = None

    def trailing_days(self, ctx: ScanContext) -> list[datetime.date]:
        cal = ctx.calendar
        try:
            return cal.trading_days_before(ctx.date, self.lookback)
        except ConfigError:  # fewer sessions in the calendar: take what there is
            if ctx.date <= cal.first_date:
                return []
            return cal.trading_days(cal.first_date, ctx.date - datetime.timedelta(days=1))

    def profiles(self, ctx: ScanContext) -> list[_Profile]:
        """The trailing volume profiles of the universe, grouped by interval (once a day)."""
        if self._profiles is not None:
            return self._profiles
        days = self.trailing_days(ctx)
        groups: dict[Interval, list[str]] = {}
        for symbol in ctx.universe:
            iv = ctx.interval(symbol)
            if iv is not None:
                groups.setdefault(iv, []).append(symbol)
        self._profiles = []
        if not days:
            return self._profiles
        table = ctx.calendar.sessions(days[0], days[-1])
        opens, day_ns = np.asarray(table.opens), np.asarray(table.closes - table.opens)
        for iv, symbols in sorted(groups.items()):
            slots = int(-(-int(day_ns.max()) // iv.ns))
            cum = np.empty((len(symbols), len(days), slots + 1), dtype=np.float64)
            present = np.empty((len(symbols), len(days)), dtype=np.bool_)
            for k, symbol in enumerate(symbols):
                parts = ctx.session_bars(symbol, days, iv)
                cum[k] = _cumulative(parts, opens, iv.ns, slots)
                present[k] = [len(p.ts) > 0 for p in parts]
            today = np.zeros((len(symbols), -(-(ctx.close_ns - ctx.open_ns) // iv.ns)))
            self._profiles.append(_Profile(iv, symbols, cum, present, day_ns, today,
                                           ctx.open_ns))
        return self._profiles

    def read_today(self, ctx: ScanContext, p: _Profile, until: int) -> None:
        """Today's session bars with ts < `until` not read yet, into `p.today` (each bar is
        read once: a scan asks the source only for the bars closed since the last one), for
        the symbols with enough trailing days to ever get a verdict."""
        if until <= p.read_until:
            return
        step = p.interval.ns
        for k in np.flatnonzero(p.present.sum(axis=1) >= self.min_days).tolist():
            bars = ctx.today_bars(p.symbols[k], p.read_until, until, p.interval)
            if len(bars.ts):
                p.today[k, (bars.ts - ctx.open_ns) // step] = bars.volume
        p.read_until = until

    def surges(self, ctx: ScanContext) -> tuple[list[str], list[str], list[float]]:
        """(symbols with a verdict, those that qualify, their surge ratios)."""
        end_off = ctx.now_ns - ctx.open_ns
        start_off = max(0, end_off - self.window * MINUTE_NS)
        judged: list[str] = []
        hits: list[tuple[float, str]] = []
        for p in self.profiles(ctx):
            step = p.interval.ns
            first, last = -(-start_off // step), end_off // step  # whole slots [first, last)
            if last <= first:
                continue
            width = p.cum.shape[2] - 1
            covered = last * step <= p.day_ns  # the trailing session lasts past the window
            counted = p.present & covered[None, :]
            n = counted.sum(axis=1)
            sums = p.cum[:, :, min(last, width)] - p.cum[:, :, min(first, width)]
            total = np.where(counted, sums, 0.0).sum(axis=1)
            avg = total / np.maximum(n, 1)
            rows = np.flatnonzero(n >= self.min_days)
            if len(rows) == 0:
                continue
            self.read_today(ctx, p, ctx.open_ns + last * step)
            today = p.today[rows, first:last].sum(axis=1)
            hit = today > self.factor * avg[rows]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(avg[rows] > 0, today / avg[rows], np.inf)
            for j, k in enumerate(rows.tolist()):
                judged.append(p.symbols[k])
                if hit[j]:
                    hits.append((-float(ratio[j]), p.symbols[k]))
        hits.sort()
        return judged, [s for _, s in hits], [-r for r, _ in hits]

    def scan(self, ctx: ScanContext) -> ScanResult:
        judged, chosen, _ = self.surges(ctx)
        return ScanResult.of_picks(ctx, chosen, judged, self.remove)


@hookimpl
def register_scanners(register) -> None:
    register("volume_surge", VolumeSurgeScanner,
             description="volume of the last minutes vs its trailing same-time average")
