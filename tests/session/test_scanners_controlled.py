"""`gap`, `volume_surge` and the closed-bars view on universes the tests control."""

from __future__ import annotations

import datetime
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.intervals import Interval
from mismartera.plugins.scanners import gap, volume_surge
from mismartera.session.scanner import ClosedBarsSource, DayCache, ScanResult, parse_params
from tests.support.engine import CALENDAR
from tests.support.scanners import (
    AUG,
    I1M,
    MIN,
    MemorySource,
    context,
    day_cache,
    flat,
    make_bars,
    manager,
    ns,
    session_of,
)


def opened(ts: int, open_: float, close: float, volume: float = 100.0):
    return (ts, open_, max(open_, close), min(open_, close), close, volume)


PREV, DAY = datetime.date(2024, 3, 7), datetime.date(2024, 3, 8)


def gap_universe() -> MemorySource:
    """Previous regular close 100 unless said otherwise; today's first bars vary."""
    p_open, p_close = session_of(PREV)
    d_open = ns(DAY, 9, 30)

    def prev(close=100.0):
        return [flat(p_open, 99.0), flat(p_close - 2 * MIN, 98.0), flat(p_close - MIN, close)]

    invalid_last = (p_close - MIN, 100.0, 90.0, 110.0, 100.0, 1.0)  # high < low
    d_pre, d_after = ns(DAY, 9, 0), ns(PREV, 16, 30)
    return MemorySource({
        "UP3": make_bars([*prev(), opened(d_open, 103.0, 90.0), flat(d_open + MIN, 500.0)]),
        "DN3": make_bars([*prev(), opened(d_open, 97.0, 97.5)]),
        "UP1": make_bars([*prev(), opened(d_open, 101.0, 101.0)]),
        "EDGE": make_bars([*prev(), opened(d_open, 102.0, 102.0)]),  # exactly 2%: not beyond
        "LATE": make_bars([*prev(), opened(d_open + 3 * MIN, 105.0, 105.0)]),  # 09:30-32 missing
        "NOPREV": make_bars([flat(ns(datetime.date(2024, 3, 6), 15, 59), 100.0),
                             opened(d_open, 110.0, 110.0)]),
        # +3.5% from the regular close; +0.49% from the after-hours bar, which is ignored
        "AFTER": make_bars([*prev(), flat(d_after, 103.0), opened(d_open, 103.5, 103.5)]),
        # the last bar is invalid: +3.57% from the 15:58 close 98 (+1.5% from the invalid one)
        "BADLAST": make_bars([*prev()[:2], invalid_last, opened(d_open, 101.5, 101.5)]),
        # pre-market +10% then -10%, then opens +0.5%
        "PRE": make_bars([*prev(), flat(d_pre, 110.0), flat(d_open - MIN, 90.0),
                          opened(d_open, 100.5, 100.5)]),
        # a misaligned bar (+50%) is not the first bar: the 09:31 bar is (0%)
        "MISALIGNED": make_bars([*prev(), opened(d_open + MIN // 2, 150.0, 150.0),
                                 opened(d_open + MIN, 100.0, 100.0)]),
    })


@pytest.mark.parametrize("cached", [False, True])
def test_gap_on_a_universe_with_controlled_gaps(cached):
    source = gap_universe()
    universe = source.symbols()

    def scan(now, added=(), in_session=(), **params):
        scanner = gap.GapScanner(**parse_params("gap", gap.GapScanner.params, params))
        scanner.setup(DAY)
        return scanner.scan(context(source, DAY, now, universe, in_session, added, cached))

    at_0931 = ns(DAY, 9, 31)
    big = ("BADLAST", "AFTER", "DN3", "UP3")  # largest |move| first, ties by symbol
    assert scan(at_0931).add == big
    assert scan(at_0931, direction="up").add == ("BADLAST", "AFTER", "UP3")
    assert scan(at_0931, direction="down").add == ("DN3",)
    assert scan(at_0931, threshold=0.75).add == (*big, "EDGE", "UP1")  # PRE is +0.5%
    assert scan(at_0931, threshold=1.99).add == (*big, "EDGE")
    assert scan(at_0931, max_symbols=3).add == ("BADLAST", "AFTER", "DN3")
    # symbols already in the session count towards max_symbols but are not added again
    assert scan(at_0931, max_symbols=3, in_session=["AFTER"]).add == ("BADLAST", "DN3")
    # the first bar present (09:33) is used once it has closed, never before
    assert scan(ns(DAY, 9, 34) - 1).add == big
    assert scan(ns(DAY, 9, 34)).add == ("LATE", *big)
    assert scan(ns(DAY, 9, 32), threshold=10.0).add == ()  # MISALIGNED's 150 is not used
    # at the open only pre-market prices are known: PRE's last one is -10%
    assert scan(ns(DAY, 9, 30)).add == ("PRE",)
    assert scan(ns(DAY, 9, 30), direction="up").add == ()
    # a nanosecond earlier the 09:29 bar has not closed: 09:00's +10% is the last price
    assert scan(ns(DAY, 9, 30) - 1, direction="up", threshold=9.99).add == ("PRE",)
    # after the open PRE moved +0.5% only: removed when this entry added it
    result = scan(at_0931, added=["PRE", "DN3", "NOPREV"], in_session=["PRE", "DN3", "NOPREV"],
                  remove=True)
    assert result == ScanResult(("BADLAST", "AFTER", "UP3"), ("PRE",))  # NOPREV: no verdict
    assert scan(at_0931, added=["PRE"], in_session=["PRE"]).remove == ()  # remove = false


def test_gap_never_reads_a_bar_that_has_not_closed():
    source = gap_universe()
    scanner = gap.GapScanner(**parse_params("gap", gap.GapScanner.params, {}))
    scanner.setup(DAY)
    now = ns(DAY, 9, 31)
    scanner.scan(context(source, DAY, now, source.symbols()))
    assert source.calls and all(end <= now - MIN + 1 for _, _, end in source.calls)


@given(st.lists(st.tuples(st.none() | st.integers(50, 150),  # previous close
                          st.none() | st.integers(0, 3),  # first session bar's minute
                          st.integers(50, 150),  # its open
                          st.none() | st.integers(50, 150),  # pre-market close at 09:10
                          st.booleans(), st.booleans()),  # in session, added by this entry
                min_size=1, max_size=5),
       st.integers(0, 4), st.sampled_from([0.0, 0.5, 2.0, 10.0, 33.3]),
       st.sampled_from(["up", "down", "both"]), st.none() | st.integers(1, 3), st.booleans(),
       st.booleans())
def test_gap_matches_a_reference_on_random_universes(specs, minute, threshold, direction,
                                                     max_symbols, remove, cached):
    p_close = session_of(PREV)[1]
    d_open = ns(DAY, 9, 30)
    now = d_open + minute * MIN
    bars, moves, in_session, added = {}, {}, [], []
    for k, (prev, first, open_, pre, present, mine) in enumerate(specs):
        sym = f"S{k}"
        rows = [] if prev is None else [flat(p_close - MIN, float(prev))]
        if first is not None:
            rows.append(opened(d_open + first * MIN, float(open_), float(open_)))
        if pre is not None:
            rows.append(flat(ns(DAY, 9, 10), float(pre)))
        bars[sym] = make_bars(rows)
        price = (float(open_) if first is not None and first + 1 <= minute
                 else None if pre is None else float(pre))
        if prev is not None and price is not None:
            moves[sym] = (price - prev) / prev * 100
        if present:
            in_session.append(sym)
            if mine:
                added.append(sym)
    hit = {s: m for s, m in moves.items()
           if (m > threshold if direction == "up" else m < -threshold if direction == "down"
               else abs(m) > threshold)}
    chosen = sorted(hit, key=lambda s: (-abs(hit[s]), s))[:max_symbols]
    scanner = gap.GapScanner(threshold=threshold, direction=direction, max_symbols=max_symbols,
                             remove=remove)
    scanner.setup(DAY)
    result = scanner.scan(context(MemorySource(bars), DAY, now, sorted(bars), in_session, added,
                                  cached))
    assert result.add == tuple(s for s in chosen if s not in in_session)
    assert result.remove == (tuple(sorted(s for s in added if s in moves and s not in chosen))
                             if remove else ())


# volume_surge: today 2014-12-01; lookback 3 = 11-25, 11-26 and 11-28 (closes 13:00)
VDAY = datetime.date(2014, 12, 1)
VTRAIL = [datetime.date(2014, 11, 25), datetime.date(2014, 11, 26), datetime.date(2014, 11, 28)]


def minutes(day, volumes: dict[int, float]):
    """Bars at minute offsets from the open with the given volumes."""
    o = ns(day, 9, 30)
    return [flat(o + m * MIN, 10.0, v) for m, v in volumes.items()]


def every_minute(day, volume, last=390):
    return minutes(day, dict.fromkeys(range(min(last, (session_of(day)[1] - ns(day, 9, 30))
                                                // MIN)), volume))


def surge_universe() -> MemorySource:
    def trailing(v25, v26, v28):
        return (every_minute(VTRAIL[0], v25) + every_minute(VTRAIL[1], v26)
                + every_minute(VTRAIL[2], v28))

    return MemorySource({
        "A301": make_bars(trailing(100, 100, 100) + every_minute(VDAY, 301)),
        "B300": make_bars(trailing(100, 100, 100) + every_minute(VDAY, 300)),
        "EARLY": make_bars(trailing(100, 100, 1000) + every_minute(VDAY, 301)),
        "MISSDAY": make_bars(every_minute(VTRAIL[1], 100) + every_minute(VTRAIL[2], 100)
                             + every_minute(VDAY, 301)),
        "HOLES": make_bars(trailing(100, 100, 100)
                           + minutes(VDAY, {m: 1000.0 for m in range(0, 390, 2)})),
        "NODATA": make_bars(every_minute(VDAY, 10_000)),
    })


def surge_scanner(**params) -> volume_surge.VolumeSurgeScanner:
    scanner = volume_surge.VolumeSurgeScanner(**parse_params(
        "volume_surge", volume_surge.VolumeSurgeScanner.params, {"lookback": 3, **params}))
    scanner.setup(VDAY)
    return scanner


@pytest.mark.parametrize("cached", [False, True])
def test_volume_surge_on_a_universe_with_controlled_volumes(cached):
    source = surge_universe()

    def surge(now, added=(), in_session=(), **params):
        ctx = context(source, VDAY, now, source.symbols(), in_session, added, cached)
        return surge_scanner(**params).scan(ctx)

    # 10:00, window 5 = slots 25-29: A301 1505 > 3 x 500; B300 1500 is not; EARLY's trailing
    # mean is 2000 (11-28 counts: its session covers the window); MISSDAY averages the two
    # days it has; HOLES has bars at 26 and 28 only (2000, missing bars count 0); NODATA has no
    # trailing day: no verdict. Strongest surge first, ties by symbol.
    assert surge(ns(VDAY, 10, 0)).add == ("HOLES", "A301", "MISSDAY")
    # 14:00: 11-28 closed at 13:00 and leaves the average, so EARLY qualifies now
    assert surge(ns(VDAY, 14, 0)).add == ("HOLES", "A301", "EARLY", "MISSDAY")
    assert surge(ns(VDAY, 10, 0), min_days=3).add == ("HOLES", "A301")
    assert surge(ns(VDAY, 14, 0), min_days=3).add == ()  # only two days cover 14:00
    assert surge(ns(VDAY, 10, 0), factor=3.5).add == ("HOLES",)
    # at the open nothing has closed; at 09:32 the window is the 2 bars since the open
    assert surge(ns(VDAY, 9, 30)).add == ()
    assert surge(ns(VDAY, 9, 32)).add == ("HOLES", "A301", "MISSDAY")
    assert surge(ns(VDAY, 9, 33) - 1, window=1).add == ()  # no whole closed bar in the window
    assert surge(ns(VDAY, 9, 33), window=1).add == ("HOLES", "A301", "MISSDAY")
    assert surge(ns(VDAY, 9, 34), window=1).add == ("A301", "MISSDAY")  # HOLES: no 09:33 bar
    result = surge(ns(VDAY, 10, 0), added=["B300", "NODATA"],
                   in_session=["B300", "NODATA", "A301"], remove=True)
    assert result == ScanResult(("HOLES", "MISSDAY"), ("B300",))


@pytest.mark.parametrize("cached", [False, True])
def test_volume_surge_scanning_all_day_equals_fresh_scans(cached):
    """One scanner reads today's bars a little at each scan; its answers equal those of a new
    scanner at each time (which reads everything at once)."""
    source = surge_universe()
    scanner = surge_scanner(window=3)
    for k in range(0, 390, 7):
        now = ns(VDAY, 9, 30) + k * MIN + (k % 3)
        ctx = context(source, VDAY, now, source.symbols(), cached=cached)
        assert scanner.surges(ctx) == surge_scanner(window=3).surges(ctx)


@given(st.sets(st.integers(-400, 800), max_size=30), st.integers(-420, 820),
       st.integers(-600, 900), st.integers(-600, 1000), st.booleans())
def test_closed_bars_source_hides_bars_that_have_not_closed(offsets, now_min, a, b, cached):
    """Any question, any time: only bars with ts + 1m <= now, as a live source or from the
    backtest day cache (which holds the whole day)."""
    day = AUG[1]
    o = ns(day, 9, 30)
    rows = [flat(o + m * MIN, 10.0) for m in sorted(offsets)]
    source = MemorySource({"X": make_bars(rows)})
    now = o + now_min * MIN + 17
    view = ClosedBarsSource(source, now, CALENDAR, session_of(day)[1],
                            day_cache(source, day) if cached else None)
    start, end = o + a * MIN, o + b * MIN
    got = view.bars("X", I1M, start, end).ts.tolist()
    assert got == [r[0] for r in rows if start <= r[0] < end and r[0] + MIN <= now]
    ctx = context(source, day, now, ["X"], cached=cached)
    assert ctx.today_bars("X").ts.tolist() == [
        r[0] for r in rows if o <= r[0] < session_of(day)[1] and r[0] + MIN <= now]


def test_closed_bars_source_daily_limit_and_the_backtest_cache(harness):
    day = AUG[1]
    source = MemorySource({})
    daily = ClosedBarsSource(source, ns(day, 12, 0), CALENDAR, session_of(day)[1])
    assert daily.limit(Interval.parse("1d")) == ns(day, 0, 0)
    after = ClosedBarsSource(source, session_of(day)[1], CALENDAR, session_of(day)[1])
    assert after.limit(Interval.parse("1d")) == ns(AUG[2], 0, 0)
    m = manager(harness, {"name": "recorder"})
    m.setup(day)
    assert isinstance(m._cache, DayCache)  # a backtest reads each day once
    m.config = types.SimpleNamespace(mode="live", scanners=m.config.scanners)
    m.setup(day)
    assert m._cache is None  # live: the source's day is still growing
