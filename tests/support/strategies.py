"""Hypothesis strategies for random trading sessions and their bars, shared by the tests.

The main strategy is `session_cases()`: one to a few consecutive exchange sessions opening
at 09:30 New York (as UTC ns, so daylight saving moves them), each regular (6.5 h), early
close (3.5 h) or short (a random whole number of base bars, sometimes opening a few base
bars after 09:30 so buckets are anchored off the round clock), a base interval and a derived
interval that is a whole multiple of it, and valid random OHLCV bars on the base grid with
random gaps (dropped bars, dropped runs that empty whole buckets, dropped first/last bars).
Long sessions of a seconds base are filled only in a few dense clusters, which keeps every
example small (<= ~1,200 bars) so 500 examples run in seconds.

    from tests.support.strategies import session_cases, noisy_bars
    @given(session_cases())
    def test_x(case): ...
    @given(st.data())
    def test_y(data):
        case = data.draw(session_cases(pairs=[(MINUTE, 5 * MINUTE)], outside=True))
        ts, o, h, l, c, v = data.draw(noisy_bars(case))   # duplicates, misaligned, ...

What decides the shape of a case is drawn from hypothesis directly, so it shrinks: the
interval pair, the number and kind of sessions, a short session's length, the drop mode,
first/last drops, how many noisy bars of each kind. Bulk detail (dates, prices, volumes,
cluster and drop positions) comes from a numpy generator seeded by a drawn integer, which
keeps generation cheap (a few ms per example).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import strategies as st

NS = 1_000_000_000
SECOND = NS
MINUTE = 60 * NS
HOUR = 3600 * NS

INTERVALS: dict[str, int] = {
    "1s": SECOND, "5s": 5 * SECOND, "1m": MINUTE, "5m": 5 * MINUTE,
    "15m": 15 * MINUTE, "30m": 30 * MINUTE, "1h": HOUR,
}
BASES = ("1s", "5s", "1m", "5m", "15m", "30m")
DERIVED = ("5s", "1m", "5m", "15m", "30m", "1h")
# every (base, derived) pair where derived is a larger whole multiple of base (21 pairs)
PAIRS: tuple[tuple[int, int], ...] = tuple(
    (INTERVALS[b], INTERVALS[d])
    for b in BASES
    for d in DERIVED
    if INTERVALS[d] > INTERVALS[b] and INTERVALS[d] % INTERVALS[b] == 0
)

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_NS = 390 * MINUTE  # 09:30-16:00
EARLY_NS = 210 * MINUTE  # 09:30-13:00
KINDS = ("regular", "early", "short")


def new_york_ns(day: date, hour: int, minute: int) -> int:
    """`day hour:minute` in New York as int64 ns since the epoch, UTC."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)
    return int(local.timestamp()) * NS


@dataclass(frozen=True)
class SessionCase:
    """Sessions plus in-session base bars (sorted, unique, on the base grid) and optional
    extra bars outside every session (`outside=True`), all valid OHLCV."""

    base_ns: int
    derived_ns: int
    opens: np.ndarray  # int64, sorted, non-overlapping
    closes: np.ndarray  # int64; close - open is a whole number of base bars
    ts: np.ndarray  # int64, strictly increasing
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def bars(self) -> tuple[np.ndarray, ...]:
        """`(ts, open, high, low, close, volume)`."""
        return (self.ts, self.open, self.high, self.low, self.close, self.volume)

    @property
    def n_sessions(self) -> int:
        return len(self.opens)

    def in_session(self) -> np.ndarray:
        """Bool mask of bars inside some session `[open, close)`."""
        mask = np.zeros(len(self.ts), bool)
        for o, c in zip(self.opens, self.closes, strict=True):
            mask |= (self.ts >= o) & (self.ts < c)
        return mask

    def session_bars(self, i: int) -> tuple[np.ndarray, ...]:
        """The bars of session i only."""
        m = (self.ts >= self.opens[i]) & (self.ts < self.closes[i])
        return tuple(a[m] for a in self.bars)


@st.composite
def sessions(
    draw,
    base_ns: int,
    *,
    max_sessions: int = 3,
    max_grid: int = 25_000,
    max_short: int = 300,
    kinds: tuple[str, ...] = KINDS,
    rng: np.random.Generator | None = None,
) -> list[tuple[int, int]]:
    """Consecutive sessions `(open_ns, close_ns)` for a base interval: regular, early close
    or short (1..max_short base bars, at most 6.5 h, opening 0..59 base bars (< 1 h) after
    09:30). Kinds longer than `max_grid` base bars are left out. Dates (2005-2035, so both
    sides of daylight saving) and the days between sessions come from `rng`."""
    rng = rng or np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    allowed = [
        k for k in kinds
        if k == "short" or {"regular": REGULAR_NS, "early": EARLY_NS}[k] // base_ns <= max_grid
    ]
    allowed = allowed or ["short"]
    day = date(2005, 1, 1) + timedelta(days=int(rng.integers(0, 11_000)))
    longest = min(max_short, max_grid, REGULAR_NS // base_ns)  # short ones stay in the day
    out = []
    for _ in range(draw(st.integers(1, max_sessions))):
        kind = draw(st.sampled_from(allowed))
        open_ns = new_york_ns(day, 9, 30)
        if kind == "regular":
            close_ns = open_ns + REGULAR_NS
        elif kind == "early":
            close_ns = open_ns + EARLY_NS
        else:
            open_ns += int(rng.integers(0, min(60, HOUR // base_ns))) * base_ns
            close_ns = open_ns + draw(st.integers(1, longest)) * base_ns
        out.append((open_ns, close_ns))
        day += timedelta(days=int(rng.integers(1, 4)))
    return out


DROPS = ("none", "random", "runs", "random+runs")


@st.composite
def present_indices(draw, grid: int, rng: np.random.Generator, *, dense_limit: int = 400):
    """Sorted indices (of `grid` base slots) that hold a bar: the full grid when it is small,
    a few dense clusters otherwise; then random drops and/or dropped runs (which empty
    whole buckets), and maybe the first and/or last bar dropped."""
    if grid <= dense_limit:
        keep = np.ones(grid, bool)
    else:
        keep = np.zeros(grid, bool)
        for start in rng.integers(0, grid, rng.integers(1, 5)):
            keep[start : start + rng.integers(1, max(2, dense_limit // 4))] = True
        keep[[0, -1]] = rng.random() < 0.5
    drop = draw(st.sampled_from(DROPS))
    if "random" in drop:
        keep &= rng.random(grid) >= rng.choice([0.02, 0.2, 0.6, 0.95])
    if "runs" in drop:
        for start in rng.integers(0, grid, rng.integers(1, 4)):
            keep[start : start + rng.integers(1, max(2, grid // 3))] = False
    first_last = draw(st.sampled_from(["keep", "drop first", "drop last", "drop both"]))
    if first_last in ("drop first", "drop both"):
        keep[0] = False
    if first_last in ("drop last", "drop both"):
        keep[-1] = False
    return np.flatnonzero(keep)


def random_ohlcv(rng: np.random.Generator, n: int, *, fractional_volume: bool = False):
    """n valid bars' `(open, high, low, close, volume)`: a random walk on a cent grid with
    low <= min(open, close) <= max(open, close) <= high and volume >= 0 (some zeros)."""
    steps = rng.normal(0, 0.3, n).round(2)
    open_ = (100 + np.cumsum(steps)).round(2)
    close = (open_ + rng.normal(0, 0.2, n)).round(2)
    wick = np.abs(rng.normal(0, 0.1, (2, n))).round(2) * (rng.random((2, n)) < 0.8)
    high = np.maximum(open_, close) + wick[0]
    low = np.minimum(open_, close) - wick[1]
    if fractional_volume:
        volume = rng.exponential(50.0, n)
    else:
        volume = rng.integers(0, 10_000, n).astype(np.float64)
    volume[rng.random(n) < 0.05] = 0.0
    return open_, high, low, close, volume


@st.composite
def session_cases(
    draw,
    pairs=PAIRS,
    *,
    max_sessions: int = 3,
    max_grid: int = 25_000,
    max_short: int = 300,
    dense_limit: int = 400,
    kinds: tuple[str, ...] = KINDS,
    outside: bool = False,
    fractional_volume: bool = False,
) -> SessionCase:
    """A `SessionCase` for a (base_ns, derived_ns) pair drawn from `pairs`.

    `max_grid` caps a session's length in base bars (keep it small when a test walks the
    whole grid, e.g. a gap reference), `max_short` a short session's; `dense_limit` is the
    session length up to which the full grid is filled before drops (longer ones get a few
    clusters of at most dense_limit/4 bars); `outside=True` adds pre-market and after-hours bars
    (a few base bars before the open, at and after the close)."""
    base_ns, derived_ns = draw(st.sampled_from(pairs))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    spans = draw(
        sessions(base_ns, max_sessions=max_sessions, max_grid=max_grid, max_short=max_short,
                 kinds=kinds, rng=rng)
    )
    stamps = []
    for open_ns, close_ns in spans:
        grid = (close_ns - open_ns) // base_ns
        idx = draw(present_indices(grid, rng, dense_limit=dense_limit))
        stamps.append(open_ns + idx.astype(np.int64) * base_ns)
        if outside:  # before the open, at the close and after it
            before = rng.choice(np.arange(1, 6), rng.integers(0, 4), replace=False)
            after = rng.choice(np.arange(0, 6), rng.integers(0, 4), replace=False)
            stamps.append(open_ns - before.astype(np.int64) * base_ns)
            stamps.append(close_ns + after.astype(np.int64) * base_ns)
    ts = np.unique(np.concatenate(stamps)) if stamps else np.empty(0, np.int64)
    ohlcv = random_ohlcv(rng, len(ts), fractional_volume=fractional_volume)
    return SessionCase(
        base_ns,
        derived_ns,
        np.array([s[0] for s in spans], np.int64),
        np.array([s[1] for s in spans], np.int64),
        ts.astype(np.int64),
        *ohlcv,
    )


@st.composite
def noisy_bars(draw, case: SessionCase, step_ns: int | None = None):
    """The case's bars disturbed for `classify`: repeated stamps (with other values),
    misaligned stamps (off the `step_ns` grid, default the base; 1 ns, a random offset or
    one ns short of a step), bars outside every session (before the first open, at a close,
    after the last close), invalid values (NaN/inf, high < low, low above the body,
    negative volume) and swapped neighbours (out-of-order stamps). How many of each is
    drawn; where they go comes from a drawn seed. Returns `(ts, open, high, low, close,
    volume)` with ts unsorted."""
    step = step_ns or case.base_ns
    n_repeat, n_misaligned, n_swap, n_invalid, n_outside = draw(
        st.tuples(*[st.integers(0, 4)] * 5)
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ts = case.ts.tolist()
    cols = [a.tolist() for a in case.bars[1:]]
    extra = random_ohlcv(rng, n_repeat + n_misaligned + n_outside)

    def insert(at: int, t: int) -> None:
        k = len(ts) - len(case.ts)  # the k-th inserted bar takes the k-th extra values
        ts.insert(at, int(t))
        for col, values in zip(cols, extra, strict=True):
            col.insert(at, float(values[k]))

    def anywhere() -> int:
        return int(rng.integers(0, len(ts)))

    if ts:
        for _ in range(n_repeat):  # right after the original or a little later
            i = anywhere()
            insert(min(len(ts), i + int(rng.integers(0, 4))), ts[i])
        for _ in range(n_misaligned):
            offset = rng.choice([1, step - 1, int(rng.integers(1, step))]) if step > 1 else 0
            i = anywhere()
            insert(i + 1, ts[i] + offset)
        for _ in range(n_swap):
            i = anywhere()
            j = min(len(ts) - 1, i + 1)
            for col in (ts, *cols):
                col[i], col[j] = col[j], col[i]
        for _ in range(n_invalid):
            i = anywhere()
            fault = rng.integers(0, 5)
            if fault == 0:
                cols[rng.integers(0, 5)][i] = float("nan")
            elif fault == 1:
                cols[rng.integers(0, 5)][i] = float(rng.choice([np.inf, -np.inf]))
            elif fault == 2:
                cols[1][i] = cols[2][i] - 0.5  # high < low
            elif fault == 3:
                cols[2][i] = max(cols[0][i], cols[3][i]) + 0.01  # low above the body
            else:
                cols[4][i] = -1.0
    if case.n_sessions:
        places = [int(case.opens[0]) - step, int(case.closes[0]), int(case.closes[-1]) + step]
        for _ in range(n_outside):
            insert(int(rng.integers(0, len(ts) + 1)), places[rng.integers(0, 3)])
    return (np.array(ts, np.int64), *(np.array(c, np.float64) for c in cols))


@st.composite
def now_in_last_session(draw, case: SessionCase) -> int:
    """A clock time around the last session: before its open, inside (on or off the grid),
    at or after its close."""
    open_ns, close_ns = int(case.opens[-1]), int(case.closes[-1])
    return draw(st.one_of(
        st.integers(open_ns - case.base_ns, close_ns + case.base_ns),
        st.integers(0, (close_ns - open_ns) // case.base_ns).map(
            lambda k: open_ns + k * case.base_ns
        ),
    ))
