"""The generator of the `synthetic` source: deterministic seeded random-walk bars.

Every bar is a pure function of (seed, symbol, session day, position in the session): a
counter-based hash (the splitmix64 finaliser) gives its random bits, so the bars of a day are
identical whatever range is asked for, and no state is carried from one day to the next.
A day's opening price follows a slow, seeded oscillation around the symbol's base price; the
day's bars are a random walk from there with valid OHLC and positive whole-share volume.
Everything is vectorised with numpy over all the sessions of a request (tens of millions of
bars per second).

`generate_sessions` makes the bars of many sessions at once (`generate_session_bars` of one),
optionally with gaps and sparse extended-hours bars.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mismartera.bars import Bars
from mismartera.intervals import NS as NS_PER_S

if TYPE_CHECKING:
    import numpy.typing as npt

NS_PER_DAY = 86_400 * NS_PER_S
REGULAR_SESSION_NS = 23_400 * NS_PER_S  # 6h30, the scale of the daily volatility
PRE_MARKET_NS = 19_800 * NS_PER_S  # extended bars start 5h30 before the open (04:00 XNYS)
AFTER_HOURS_NS = 14_400 * NS_PER_S  # ... and run until 4h after the close (20:00 XNYS)

DAILY_VOL = 0.015  # standard deviation of a regular session's log return
WICK = 0.5  # a bar's wick reaches at most WICK x its return's standard deviation
EXTENDED_VOL = 0.5  # extended-hours volatility relative to the regular session
EXTENDED_KEEP = 0.25  # fraction of extended-hours bar slots that hold a bar
EXTENDED_VOLUME = 0.05  # extended-hours volume relative to the regular session

_MASK64 = (1 << 64) - 1
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = 0x9E3779B97F4A7C15
_SALT_PRE = 0x5052452D4D4B5421
_SALT_POST = 0x504F53542D484F55
_CHUNK_SLOTS = 16_384  # bar slots generated at a time
_U16 = 65_536.0
_U31 = 2_147_483_648.0
_U53 = 9_007_199_254_740_992.0


def _mix_scalar(x: int) -> int:
    """splitmix64 finaliser on a Python int (the same function as `_mix`)."""
    x &= _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser, in place on a uint64 array (wrapping arithmetic)."""
    t = np.right_shift(x, np.uint64(30))
    x ^= t
    x *= _M1
    np.right_shift(x, np.uint64(27), out=t)
    x ^= t
    x *= _M2
    np.right_shift(x, np.uint64(31), out=t)
    x ^= t
    return x


def _unit(key: int) -> float:
    """A uniform number in [0, 1) from the top 53 bits of a 64-bit key."""
    return (key >> 11) / _U53


@dataclass(frozen=True, slots=True)
class _Walker:
    """Everything about a (symbol, seed, interval) that does not depend on the day."""

    key: int
    base_price: float
    phase_slow: float
    phase_fast: float
    sigma: float
    volume: float

    @classmethod
    @functools.lru_cache(maxsize=4096)
    def of(cls, symbol: str, seed: int, interval_ns: int) -> _Walker:
        digest = hashlib.blake2b(symbol.encode(), digest_size=8).digest()
        key = _mix_scalar(_mix_scalar(seed & _MASK64) ^ int.from_bytes(digest, "little"))
        key = _mix_scalar(key ^ interval_ns)
        draws = [_unit(_mix_scalar(key + i)) for i in range(4)]
        scale = min(interval_ns, REGULAR_SESSION_NS) / REGULAR_SESSION_NS
        return cls(
            key=key,
            base_price=20.0 * math.exp(3.2 * draws[0]),  # 20 .. 490
            phase_slow=2 * math.pi * draws[1],
            phase_fast=2 * math.pi * draws[2],
            sigma=DAILY_VOL * math.sqrt(scale),
            volume=2.0e4 * math.exp(2.5 * draws[3]) * scale * 390.0,
        )

    def days(self, day_numbers: list[int], salt: int = 0) -> tuple[npt.NDArray, npt.NDArray]:
        """Per day: its 64-bit key and its first open. The open follows a slow seeded
        oscillation around the base price plus a small jitter; it depends on the day alone.
        Plain Python floats, so a day's numbers never depend on the batch it is part of."""
        keys = [_mix_scalar((self.key ^ salt) + d * _GOLDEN) for d in day_numbers]
        opens = [
            self.base_price
            * math.exp(
                0.3 * math.sin(d * (2 * math.pi / 1095.75) + self.phase_slow)
                + 0.08 * math.sin(d * (2 * math.pi / 182.625) + self.phase_fast)
                + 0.04 * _unit(k)
                - 0.02
            )
            for d, k in zip(day_numbers, keys, strict=True)
        ]
        return np.array(keys, dtype="<u8"), np.array(opens, dtype=np.float64)


@functools.lru_cache(maxsize=64)
def _slots(width: int, interval_ns: int) -> tuple[npt.NDArray, npt.NDArray[np.int64]]:
    """Weyl-sequence counters and time offsets of the bar slots of a row (read-only)."""
    slots = np.arange(width, dtype="<u8") * np.uint64(_GOLDEN)
    offsets = np.arange(width, dtype=np.int64) * np.int64(interval_ns)
    slots.flags.writeable = offsets.flags.writeable = False
    return slots, offsets


def _walk(
    keys: npt.NDArray,
    starts: npt.NDArray[np.int64],
    width: int,
    interval_ns: int,
    first_open: npt.NDArray[np.float64],
    sigma: float,
    volume: float,
    out: list[npt.NDArray] | None = None,
) -> tuple[list[npt.NDArray], npt.NDArray[np.uint16]]:
    """Random walks of `width` bars, one row per session day, written into `out` (six
    C-ordered 2-D arrays: ts, open, high, low, close, volume) or into new arrays.

    Row d starts at starts[d] with open first_open[d]; bar k of a row depends only on the
    row's key and k (so a row cut short equals the start of a longer one). Also returns 16
    random bits per bar, independent of the wicks and volume, for dropping bars."""
    rows = len(keys)
    if out is None:
        out = [np.empty((rows, width), np.int64)] + [np.empty((rows, width)) for _ in range(5)]
    ts, open_, high, low, close, vol = out
    slots, offsets = _slots(width, interval_ns)
    bits = np.add(keys[:, None], slots[None, :])
    _mix(bits)
    words = bits.view("<u2").reshape(rows, width, 4)
    signed = bits.view("<i4").reshape(rows, width, 2)[:, :, 1]

    half = math.sqrt(3.0) * sigma  # uniform steps on [-half, half) have std sigma
    np.multiply(signed, half / _U31, out=close)
    np.cumsum(close, axis=1, out=close)  # row by row: a row never depends on another
    np.exp(close, out=close)
    close *= first_open[:, None]
    open_[:, 0] = first_open
    open_[:, 1:] = close[:, :-1]

    upper, lower = words[:, :, 0], words[:, :, 1]
    np.add(upper, lower, out=vol, dtype=np.float64)  # volume grows with the bar's range
    vol *= volume / _U16
    vol += 0.1 * volume + 1.0
    np.floor(vol, out=vol)

    np.maximum(open_, close, out=high)
    wick = np.multiply(upper, WICK * sigma / _U16, dtype=np.float64)
    wick *= high
    high += wick
    np.minimum(open_, close, out=low)
    np.multiply(lower, WICK * sigma / _U16, out=wick)
    wick *= low
    low -= wick

    np.add(starts[:, None], offsets[None, :], out=ts)
    return out, words[:, :, 2]


def generate_sessions(
    symbol: str,
    opens: npt.ArrayLike,
    closes: npt.ArrayLike,
    interval_ns: int,
    seed: int = 0,
    *,
    gap_rate: float = 0.0,
    extended_hours: bool = False,
) -> Bars:
    """Bars of `symbol` for sessions [opens[i], closes[i]) (sorted, int64 ns), in time order.

    Bars start at open + k*interval while before the close (the last one truncated when the
    interval does not divide the session). A session's bars depend only on (seed, symbol,
    interval, the UTC day of its open, its open and close): they are identical whether it is
    generated alone or with others. `gap_rate` drops that fraction of regular bars (in steps
    of 1/65536; the remaining bars are unchanged); `extended_hours` adds sparse pre-market
    bars in the 5h30 before the open and after-hours bars in the 4h after the close (slots
    reaching into a neighbouring session's hours are left out, for calendars with short
    overnight breaks)."""
    opens = np.ascontiguousarray(opens, dtype=np.int64)
    closes = np.ascontiguousarray(closes, dtype=np.int64)
    if len(opens) == 0:
        return Bars.empty()
    interval_ns = int(interval_ns)
    lengths = (closes - opens + (interval_ns - 1)) // interval_ns
    if int(lengths.min()) <= 0:
        raise ValueError("every session must close after it opens")
    walker = _Walker.of(symbol, int(seed), interval_ns)
    threshold = round(float(gap_rate) * _U16)
    if extended_hours:
        return _with_extended_hours(walker, opens, closes, lengths, interval_ns, threshold)
    return _regular(walker, opens, lengths, interval_ns, threshold)


def _regular(
    walker: _Walker,
    opens: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    interval_ns: int,
    threshold: int,
) -> Bars:
    """The regular-session bars of every session, a few rows of equal length at a time (the
    temporaries stay in cache). Each block is computed straight into a 2-D view of the
    output arrays; with gaps (bars whose drop bits are below `threshold` are dropped) into a
    scratch block first, whose kept bars are then packed into the output."""
    if len(opens) == 1:  # the common one-session request: no block bookkeeping
        keys, first_open = walker.days([int(opens[0]) // NS_PER_DAY])
        columns, bits = _walk(
            keys, opens, int(lengths[0]), interval_ns, first_open, walker.sigma, walker.volume
        )
        if threshold == 0:
            return Bars(*(c.reshape(-1) for c in columns))
        keep = (bits >= threshold).reshape(-1)
        return Bars(*(c.reshape(-1)[keep] for c in columns))
    total = int(lengths.sum())
    # Output arrays of the full size: with gaps their tail stays unused and untouched.
    out: list[npt.NDArray] = [np.empty(total, np.int64)] + [np.empty(total) for _ in range(5)]
    if threshold:
        size = max(_CHUNK_SLOTS, int(lengths.max()))
        scratch = [np.empty(size, np.int64)] + [np.empty(size) for _ in range(5)]
    keys, first_open = walker.days((opens // NS_PER_DAY).tolist())
    length_list = lengths.tolist()
    row, position = 0, 0
    while row < len(length_list):
        width = length_list[row]
        stop = row + 1
        limit = row + max(1, _CHUNK_SLOTS // width)
        while stop < len(length_list) and stop < limit and length_list[stop] == width:
            stop += 1
        slots = (stop - row) * width
        block = [c[position : position + slots] for c in out] if not threshold else scratch
        views = [c[:slots].reshape(stop - row, width) for c in block]
        _, bits = _walk(
            keys[row:stop],
            opens[row:stop],
            width,
            interval_ns,
            first_open[row:stop],
            walker.sigma,
            walker.volume,
            views,
        )
        if threshold:
            kept = np.flatnonzero(bits >= threshold)
            slots = len(kept)
            for source, target in zip(views, out, strict=True):
                np.take(
                    source.reshape(-1), kept, out=target[position : position + slots], mode="clip"
                )
        row, position = stop, position + slots
    return Bars(*(c[:position] for c in out)) if threshold else Bars(*out)


def _with_extended_hours(
    walker: _Walker,
    opens: npt.NDArray[np.int64],
    closes: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    interval_ns: int,
    threshold: int,
) -> Bars:
    """`generate_sessions` with extended hours, a few sessions at a time. Pre-market bars
    start at or after the previous session's close; after-hours bars end before the next
    session's pre-market slots begin."""
    pre_width = PRE_MARKET_NS // interval_ns
    post_width = AFTER_HOURS_NS // interval_ns
    pre_starts = opens - pre_width * interval_ns
    previous_close = np.concatenate([[np.iinfo(np.int64).min], closes[:-1]])
    next_hours = np.concatenate([pre_starts[1:], [np.iinfo(np.int64).max]])
    row_slots = pre_width + int(lengths.max()) + post_width
    step = max(1, _CHUNK_SLOTS // row_slots)
    # output arrays big enough for every slot: their unused tail is never touched
    size = len(opens) * row_slots
    out: list[npt.NDArray] = [np.empty(size, np.int64)] + [np.empty(size) for _ in range(5)]
    position = 0
    for i in range(0, len(opens), step):
        rows = slice(i, i + step)
        limits = (previous_close[rows], next_hours[rows])
        position += _extended_rows(
            walker,
            opens[rows],
            closes[rows],
            lengths[rows],
            interval_ns,
            threshold,
            limits,
            [c[position:] for c in out],
        )
    return Bars(*(c[:position] for c in out))


def _extended_rows(
    walker: _Walker,
    opens: npt.NDArray[np.int64],
    closes: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    interval_ns: int,
    threshold: int,
    limits: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    out: list[npt.NDArray],
) -> int:
    """Regular bars padded to the longest session, between pre-market slots ending at the
    open and after-hours slots starting at the close; the bars that exist are written to
    the start of the `out` arrays. Returns how many."""
    width = int(lengths.max())
    day_numbers = (opens // NS_PER_DAY).tolist()
    keys, first_open = walker.days(day_numbers)
    columns, drop_bits = _walk(
        keys, opens, width, interval_ns, first_open, walker.sigma, walker.volume
    )
    keep = np.arange(width)[None, :] < lengths[:, None]
    if threshold:
        keep &= drop_bits >= threshold

    sigma, volume = EXTENDED_VOL * walker.sigma, EXTENDED_VOLUME * walker.volume
    sparse = round(EXTENDED_KEEP * _U16)
    parts = [(columns, keep)]
    pre_width = PRE_MARKET_NS // interval_ns
    if pre_width:
        pre_keys, _ = walker.days(day_numbers, _SALT_PRE)
        starts = opens - pre_width * interval_ns
        pre, bits = _walk(pre_keys, starts, pre_width, interval_ns, first_open, sigma, volume)
        parts.insert(0, (pre, (bits < sparse) & (pre[0] >= limits[0][:, None])))
    post_width = AFTER_HOURS_NS // interval_ns
    if post_width:
        last_close = columns[4][np.arange(len(opens)), lengths - 1]
        post_keys, _ = walker.days(day_numbers, _SALT_POST)
        post, bits = _walk(post_keys, closes, post_width, interval_ns, last_close, sigma, volume)
        parts.append((post, (bits < sparse) & (post[0] < limits[1][:, None])))
    kept = np.flatnonzero(np.concatenate([p[1] for p in parts], axis=1))
    for i, target in enumerate(out):
        merged = np.concatenate([p[0][i] for p in parts], axis=1).reshape(-1)
        np.take(merged, kept, out=target[: len(kept)], mode="clip")
    return len(kept)


def generate_session_bars(
    symbol: str,
    open_ns: int,
    close_ns: int,
    interval_ns: int,
    seed: int = 0,
    *,
    gap_rate: float = 0.0,
    extended_hours: bool = False,
) -> Bars:
    """Bars of `symbol` for the one session [open_ns, close_ns); see `generate_sessions`."""
    return generate_sessions(
        symbol,
        [open_ns],
        [close_ns],
        interval_ns,
        seed,
        gap_rate=gap_rate,
        extended_hours=extended_hours,
    )
