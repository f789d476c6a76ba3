"""Row validation of bar files, and the first bad row's reason.

`check_rows` validates a block of typed rows at once: a valid stamp, finite numbers,
`low <= min(open, close)`, `max(open, close) <= high`, `volume >= 0`, stamps strictly
increasing and on the interval's grid in local wall time (multiples of the interval from
midnight; of 30 minutes for longer intervals), and for `1d` bars a trading session whose
open replaces the stamp. It returns the bars, or the first bad row with a function that
words the reason from that row's raw field texts. `infer_from_stamps` tells a file's
interval from its stamps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mismartera.bars import Bars
from mismartera.errors import DataError
from mismartera.importer.layout import VALUE_NAMES
from mismartera.importer.rows import STAMP_RANGE
from mismartera.importer.stamps import DAY_NS
from mismartera.intervals import NS, Interval
from mismartera.ticks import TickSeries

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from mismartera.importer.layout import Layout
    from mismartera.importer.rows import Typed

ALIGN_MAX_NS = 30 * 60 * NS
MAX_MAGNITUDE = 1e15  # any price or volume beyond is a unit or parsing error; sums stay finite
_EPOCH_DATE = date(1970, 1, 1)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B8 = npt.NDArray[np.bool_]
SessionOpenOf = Callable[[date], "int | None"]


@dataclass
class _Problem:
    index: int  # row within the checked block
    reason: Callable[[dict[str, str | None]], str]  # from the row's raw field texts


@dataclass
class Context:
    """What the checks of one file need besides its rows (no `interval`: only the checks
    that do not depend on it)."""

    interval: Interval | None
    tz: ZoneInfo
    layout: Layout
    session_open_of: SessionOpenOf | None
    opens: dict[int, int | None]  # local day number -> session open (cache)


def check_rows(
    typed: Typed, ctx: Context, prev: tuple[int, int] | None
) -> tuple[Bars | None, _Problem | None]:
    """Validate a block (rows after one whose stamp was `prev` = (ts, local)): its bars, or
    the first bad row and why."""
    if ctx.layout.kind != "bars":
        series, problem = check_series_rows(typed, ctx, prev)
        return series, problem  # type: ignore[return-value]
    n = len(typed)
    v = typed.values
    o, h, lo, c, vol = (v[k] for k in VALUE_NAMES)
    checks = _common_checks(typed, ctx)

    layout = ctx.layout

    def raw_stamp(raw: dict[str, str | None]) -> str:
        return " ".join((raw.get(f"c{i}") or "").strip() for i in layout.stamp)

    with np.errstate(invalid="ignore"):
        checks += [
            (h < lo, lambda i, raw: f"high {float(h[i])!r} is below low {float(lo[i])!r}"),
            (o > h, lambda i, raw: f"open {float(o[i])!r} is above high {float(h[i])!r}"),
            (o < lo, lambda i, raw: f"open {float(o[i])!r} is below low {float(lo[i])!r}"),
            (c > h, lambda i, raw: f"close {float(c[i])!r} is above high {float(h[i])!r}"),
            (c < lo, lambda i, raw: f"close {float(c[i])!r} is below low {float(lo[i])!r}"),
            (vol < 0, lambda i, raw: f"volume {float(vol[i])!r} is negative"),
        ]
    iv = ctx.interval
    ts = typed.ts
    if iv is None:
        pass
    elif iv.is_intraday:
        checks.append((typed.date_only, lambda i, raw: (
            f"'{raw_stamp(raw)}' has no time of day: {iv.name} bars need a timestamp "
            "(timestamp, datetime or date + time columns)")))
        align = min(iv.ns, ALIGN_MAX_NS)
        align_name = iv.name if iv.ns <= ALIGN_MAX_NS else "30m"
        checks.append(((typed.local % align) != 0, lambda i, raw: (
            f"timestamp {raw_stamp(raw)} is not on the {iv.name} grid: expected a multiple of "
            f"{align_name} from midnight, {ctx.tz.key} time")))
        step, off_step = _steps(typed, prev, iv)
        checks.append((off_step, lambda i, raw: (
            f"timestamp {raw_stamp(raw)} is {span(int(step[i]))} after the previous bar, "
            f"not a multiple of {iv.name}: these are not {iv.name} bars (give the file's "
            "interval with --interval)")))
    else:
        ts, not_session, odd_time = _session_stamps(typed, ctx)
        checks.append((not_session, lambda i, raw: (
            f"{_local_date(typed.local[i])} is not a trading session of the exchange")))
        checks.append((odd_time, lambda i, raw: (
            f"{iv.name} bar timestamp {raw_stamp(raw)} is neither midnight nor its "
            "session's open")))
    if n:
        before = np.empty(n, np.int64)
        before[1:] = ts[:-1]
        before[0] = prev[0] if prev is not None else np.iinfo(np.int64).min
        checks.append((ts <= before, lambda i, raw: (
            f"timestamp {raw_stamp(raw)} is not after the previous row's (a duplicate)"
            if ts[i] == before[i]
            else f"timestamp {raw_stamp(raw)} is not after the previous row's "
            f"({_fmt_local(int(before[i]), ctx.tz)})")))
    any_bad = np.zeros(n, np.bool_)
    for mask, _ in checks:
        any_bad |= mask
    if not any_bad.any():
        return Bars.from_arrays(ts, o, h, lo, c, vol), None
    first = int(np.argmax(any_bad))
    why = next(fn for mask, fn in checks if mask[first])
    return None, _Problem(first, functools.partial(why, first))


_Reason = Callable[[int, dict[str, "str | None"]], str]


def _common_checks(typed: Typed, ctx: Context) -> list[tuple[B8, _Reason]]:
    """The checks every kind of row gets: a valid stamp and finite numbers."""
    v = typed.values
    checks: list[tuple[B8, _Reason]] = []
    layout = ctx.layout

    def raw_stamp(raw: dict[str, str | None]) -> str:
        return " ".join((raw.get(f"c{i}") or "").strip() for i in layout.stamp)

    checks.append((typed.stamp_null, lambda i, raw: (
        f"missing value in {'columns' if len(layout.stamp) == 2 else 'column'} "
        f"{layout.stamp_label}")))
    checks.append((typed.far, lambda i, raw: (
        f"timestamp {raw_stamp(raw)} is out of range: expected a time {STAMP_RANGE}")))
    checks.append((~typed.stamp_ok, lambda i, raw: (
        f"'{raw_stamp(raw)}' is not {layout.stamp_noun()}: expected ISO-8601 such as "
        "2024-01-03 09:30:00 or 2024-01-03T09:30:00-05:00")))
    def dst_reason(what: str) -> Callable[[int, dict[str, str | None]], str]:
        return lambda i, raw: (
            f"timestamp {raw_stamp(raw)} {what} in {ctx.tz.key} (a daylight-saving change): "
            "give its UTC offset, or choose --dst earliest or --dst latest")

    for mask, what in ((typed.dst_gap, "does not exist"), (typed.dst_twice, "is ambiguous")):
        checks.append((mask, dst_reason(what)))
    for name in layout.values:
        with np.errstate(invalid="ignore"):
            not_finite = ~np.isfinite(v[name]) & ~typed.nulls[name] & ~typed.bad[name]
        checks += [
            (typed.nulls[name], _missing_reason(name)),
            (typed.bad[name], _not_number_reason(name, f"c{layout.values[name]}")),
            (not_finite, _not_finite_reason(name, v[name])),
            (np.abs(v[name]) > MAX_MAGNITUDE, _too_large_reason(name, v[name])),
        ]
    return checks


def check_series_rows(
    typed: Typed, ctx: Context, prev: tuple[int, int] | None
) -> tuple[TickSeries | None, _Problem | None]:
    """`check_rows` for ticks or quotes: a valid stamp, finite numbers, prices above zero,
    sizes not negative, `bid <= ask`, stamps in time order (equal ones allowed)."""
    n = len(typed)
    v = typed.values
    layout = ctx.layout
    checks = _common_checks(typed, ctx)

    def raw_stamp(raw: dict[str, str | None]) -> str:
        return " ".join((raw.get(f"c{i}") or "").strip() for i in layout.stamp)

    checks.append((typed.date_only, lambda i, raw: (
        f"'{raw_stamp(raw)}' has no time of day: {layout.kind} need a timestamp")))
    with np.errstate(invalid="ignore"):
        for name in layout.values:
            a = v[name]
            if name.endswith("size"):
                checks.append((a < 0, _bad_value(name, a, "is negative")))
            else:
                checks.append((a <= 0, _bad_value(name, a, "is not above zero")))
        if layout.kind == "quotes":
            bid, ask = v["bid"], v["ask"]
            checks.append((bid > ask, lambda i, raw: (
                f"bid {float(bid[i])!r} is above ask {float(ask[i])!r}")))
    ts = typed.ts
    if n:
        before = np.empty(n, np.int64)
        before[1:] = ts[:-1]
        before[0] = prev[0] if prev is not None else np.iinfo(np.int64).min
        checks.append((ts < before, lambda i, raw: (
            f"timestamp {raw_stamp(raw)} is before the previous row's "
            f"({_fmt_local(int(before[i]), ctx.tz)})")))
    any_bad = np.zeros(n, np.bool_)
    for mask, _ in checks:
        any_bad |= mask
    if not any_bad.any():
        return TickSeries(layout.kind, ts, dict(v)), None
    first = int(np.argmax(any_bad))
    why = next(fn for mask, fn in checks if mask[first])
    return None, _Problem(first, functools.partial(why, first))


def _bad_value(name: str, values: F64, what: str) -> _Reason:
    return lambda i, raw: f"{name} {float(values[i])!r} {what}"


def _steps(typed: Typed, prev: tuple[int, int] | None, iv: Interval) -> tuple[I64, B8]:
    """Each row's spacing from the previous row when both are valid timed stamps of the same
    local day (0 otherwise), and where a positive spacing is not a multiple of `iv`."""
    n = len(typed)
    timed = typed.stamp_ok & ~typed.date_only
    ts = np.empty(n + 1, np.int64)
    day = np.empty(n + 1, np.int64)
    ok = np.empty(n + 1, np.bool_)
    ts[1:], day[1:], ok[1:] = typed.ts, typed.local // DAY_NS, timed
    ts[0], day[0], ok[0] = (prev[0], prev[1] // DAY_NS, True) if prev else (0, 0, False)
    step = np.diff(ts)
    same = ok[1:] & ok[:-1] & (day[1:] == day[:-1]) & (step > 0)
    step = np.where(same, step, 0)
    return step, same & (step % iv.ns != 0)


def session_steps(typed: Typed) -> I64:
    """The positive spacings between consecutive timed stamps of the same local day."""
    step, _ = _steps(typed, None, Interval.parse("1m"))
    return step[step > 0]


def span(ns: int) -> str:
    """A duration as the intervals write it: 5m, 1h, 90s, 1h30m, 0.5s."""
    seconds = ns / NS
    if seconds < 60 or seconds % 60:
        return f"{seconds:g}s"
    hours, minutes = divmod(int(seconds) // 60, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")


def _missing_reason(name: str) -> _Reason:
    return lambda i, raw: f"missing value in column '{name}'"


def _not_number_reason(name: str, col: str) -> _Reason:
    return lambda i, raw: f"'{(raw.get(col) or '').strip()}' is not a number in column '{name}'"


def _not_finite_reason(name: str, values: F64) -> _Reason:
    return lambda i, raw: f"{name} {float(values[i])!r} is not a finite number"


def _too_large_reason(name: str, values: F64) -> _Reason:
    return lambda i, raw: (f"{name} {float(values[i])!r} is absurdly large: expected at most "
                           f"{MAX_MAGNITUDE:g} in magnitude")


def _session_stamps(typed: Typed, ctx: Context) -> tuple[I64, B8, B8]:
    """For daily bars: each row's session open, rows whose local date is no session, rows
    whose time is neither local midnight nor the session open (rows without a valid stamp
    are left to the stamp checks)."""
    assert ctx.session_open_of is not None
    ok = typed.stamp_ok
    days = np.where(ok, typed.local // DAY_NS, 0)
    tod = typed.local - days * DAY_NS
    uniq, inverse = np.unique(days, return_inverse=True)
    opens = np.zeros(len(uniq), np.int64)
    missing = np.zeros(len(uniq), np.bool_)
    valid_days = set(days[ok].tolist())
    for k, day in enumerate(uniq.tolist()):
        if day not in valid_days:
            continue
        if day not in ctx.opens:
            ctx.opens[day] = ctx.session_open_of(_EPOCH_DATE + timedelta(days=day))
        got = ctx.opens[day]
        missing[k] = got is None
        opens[k] = 0 if got is None else got
    ts = opens[inverse]
    not_session = missing[inverse] & ok
    odd_time = (tod != 0) & (typed.ts != ts) & ok & ~not_session
    return np.ascontiguousarray(ts), not_session, odd_time


def _local_date(local_ns: int) -> date:
    return _EPOCH_DATE + timedelta(days=int(local_ns) // DAY_NS)


def _fmt_local(ts_ns: int, tz: ZoneInfo) -> str:
    seconds, frac = divmod(int(ts_ns), NS)
    dt = datetime.fromtimestamp(seconds, UTC).astimezone(tz)
    if frac:
        dt = dt.replace(microsecond=frac // 1000)
    return dt.isoformat()


def infer_from_stamps(typed: Typed, path: Path) -> Interval:
    """The interval of a file's bars: the most common spacing between consecutive stamps of
    the same local day (of tied ones the smallest, when the others are multiples of it);
    `1d` when no two stamps share a day (`1w` when they are mostly a week apart)."""
    good = typed.stamp_ok & ~typed.stamp_null
    steps = session_steps(typed)
    if len(steps) == 0:
        days = np.unique(typed.local[good] // DAY_NS)
        if len(days) < 2 and not typed.date_only[good].any():
            raise DataError(
                f"{path}: cannot infer the bar interval from a single bar: give it with "
                "--interval"
            )
        if len(days) > 1 and _mode(np.diff(days)) == [7]:
            return Interval.parse("1w")
        return Interval.parse("1d")
    modes = _mode(steps)
    step = modes[0]
    if any(m % step for m in modes):
        raise DataError(
            f"{path}: cannot infer the bar interval: stamps are as often "
            f"{' as '.join(span(m) for m in modes)} apart: give it with --interval"
        )
    for name in Interval.SUPPORTED:
        iv = Interval.parse(name)
        if iv.is_intraday and iv.ns == step:
            return iv
    raise DataError(
        f"{path}: cannot infer the bar interval: the most common spacing between stamps, "
        f"{span(step)}, is not a supported interval: give it with --interval"
    )


def coarser_interval(ts: I64, iv: Interval) -> Interval | None:
    """The coarser supported interval that bars given as `iv` really are: their most common
    spacing within a day, when it is a multiple of `iv` larger than it and every spacing
    within a day is a multiple of it (sparse `iv` bars have spacings of their own); None
    otherwise. Consecutive stamps less than 6 hours apart count as within a day."""
    if not iv.is_intraday or len(ts) < 3:
        return None
    steps = np.diff(ts)
    steps = steps[(steps > 0) & (steps < 6 * 3600 * NS)]
    if len(steps) < 2:
        return None
    step = _mode(steps)[0]
    if step <= iv.ns or step % iv.ns or (steps % step).any():
        return None
    return next((Interval.parse(name) for name in Interval.SUPPORTED
                 if Interval.parse(name).is_intraday and Interval.parse(name).ns == step), None)


def _mode(values: I64) -> list[int]:
    """The most common values, smallest first."""
    uniq, counts = np.unique(values, return_counts=True)
    return uniq[counts == counts.max()].tolist()
