"""BacktestClock and LiveClock: monotonic time bounded by the session's close."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.calendar.clocks import BacktestClock, Clock, LiveClock
from tests.support.calendar import NS

# --------------------------------------------------------------------------- clocks


def test_backtest_clock() -> None:
    clock = BacktestClock(100)
    assert isinstance(clock, Clock) and clock.now == 100 and clock.limit is None
    clock.advance_to(100)
    clock.advance_to(150)
    assert clock.now == 150
    with pytest.raises(ValueError, match="backwards"):
        clock.advance_to(149)
    clock.set_session(200, 300)
    assert (clock.now, clock.limit) == (200, 300)
    clock.advance_to(300)  # reaching the close is allowed
    with pytest.raises(ValueError, match="limit"):
        clock.advance_to(301)
    assert clock.now == 300
    with pytest.raises(ValueError, match="backwards"):
        clock.set_session(250, 400)
    with pytest.raises(ValueError, match="before its open"):
        clock.set_session(500, 400)
    with pytest.raises(ValueError, match="limit"):
        BacktestClock(10, limit=5)


OPS = st.lists(
    st.tuples(st.sampled_from(["advance", "session"]), st.integers(0, 1000), st.integers(0, 300)),
    max_size=30,
)


@given(st.integers(0, 500), OPS)
def test_backtest_clock_never_goes_backwards_or_past_the_limit(start: int, ops: list) -> None:
    clock = BacktestClock(start)
    now, limit = start, None
    for op, t, length in ops:
        if op == "advance":
            ok = t >= now and (limit is None or t <= limit)
            if ok:
                clock.advance_to(t)
                now = t
            else:
                with pytest.raises(ValueError):
                    clock.advance_to(t)
        else:
            if t >= now:
                clock.set_session(t, t + length)
                now, limit = t, t + length
            else:
                with pytest.raises(ValueError):
                    clock.set_session(t, t + length)
        assert clock.now == now and clock.limit == limit
        assert limit is None or clock.now <= limit


def test_live_clock_reads_and_waits_on_its_time_source() -> None:
    fake = {"now": 1_000}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        fake["now"] += int(seconds * NS) // 2 + 1  # wakes early: the clock must sleep again

    clock = LiveClock(time_ns=lambda: fake["now"], sleep=sleep)
    assert isinstance(clock, Clock) and clock.now == 1_000 and clock.limit is None
    clock.advance_to(500)  # already past: returns at once
    assert slept == []
    clock.advance_to(1_000 + 2 * NS)
    assert clock.now >= 1_000 + 2 * NS and len(slept) > 1
    clock.set_session(0, 10 * NS)
    with pytest.raises(ValueError, match="limit"):
        clock.advance_to(10 * NS + 1)
    with pytest.raises(ValueError, match="previous"):
        clock.set_session(0, 5 * NS)
    assert isinstance(LiveClock().now, int)
