"""Delta exports reconstruct the full record: folding every delta in order (tests/support/
delta.py's `fold`) gives exactly the full export at each moment, over a multi-day live
replay with late and withheld bars (repairs rewrite the past) and a day change."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.export import decode_cursor, export_times, snapshot
from mismartera.session.live import LiveSessionCoordinator
from mismartera.session.live.gapfill import GapFiller
from tests.support.delta import fold
from tests.support.engine import CALENDAR, dumps
from tests.support.live import SAMPLE, live_plugins, session

DAYS = ["2011-01-05", "2011-01-06"]
# an interval with an indicator (a repair resends its day) and ones without (resent from
# the first rewritten bar)
INDICATORS = [{"name": "sma", "interval": "5m", "params": {"period": 5}}]
MINUTES = [f"{h:02d}:{m:02d}" for h in range(9, 16) for m in range(60) if (h, m) >= (9, 30)]


class Consumer:
    """At each clock stop it is given (and at each day's end): a full export and a delta
    from the previous export; the fold of the deltas must be the full export."""

    def __init__(self, times: set[int]) -> None:
        self.times = times
        self.record: dict | None = None
        self.cursor: str | None = None
        self.checked = 0
        self.replaced = 0

    def on_clock(self, ctx, now):
        if now in self.times:
            self.check(ctx.session_data)

    def on_session_end(self, ctx):
        self.check(ctx.session_data)

    def check(self, sd):
        full, cursor = snapshot(sd, CALENDAR)
        full = json.loads(dumps(full))
        if self.record is None:
            self.record = full
        else:
            delta, delta_cursor = snapshot(sd, CALENDAR, since=self.cursor)
            delta = json.loads(dumps(delta))
            assert delta["delta"] is True and delta_cursor == cursor
            self.replaced += sum("replace_from" in b for s in delta["symbols"].values()
                                 for b in s["bars"].values())
            self.record = fold(self.record, delta)
            assert dumps(self.record) == dumps(full)
        self.cursor = cursor
        self.checked += 1


def live_day(day: str, live: dict, consumer: Consumer, seconds: list[int]) -> None:
    open_ns = CALENDAR.session(day)[0]
    times = [open_ns + s * 1_000_000_000 for s in seconds]
    consumer.times = set(times)
    cfg = session(day, SAMPLE, ["SPY"], live=live, trailing=1, indicators=INDICATORS)
    coordinator = LiveSessionCoordinator(cfg, plugins=live_plugins(), observers=[consumer],
                                         stop_times=times, gap_filler=GapFiller(delay_s=120))
    coordinator.run()


@given(
    st.lists(st.sampled_from(MINUTES[:-1]), max_size=6, unique=True),
    st.lists(st.sampled_from(MINUTES), max_size=6, unique=True),
    st.sampled_from(["3m", "20m"]),
    st.lists(st.lists(st.integers(1, 23_399), max_size=8), min_size=2, max_size=2),
)
def test_folding_the_deltas_gives_the_full_export_at_every_moment(late, withheld, late_by,
                                                                   moments):
    consumer = Consumer(set())
    for day, seconds in zip(DAYS, moments, strict=True):
        live = {"late": late, "late_by": late_by, "withhold": withheld, "withhold_retries": 1}
        live_day(day, live, consumer, sorted(set(seconds)))
    assert consumer.checked >= 2


def test_a_repair_resends_from_the_first_rewritten_bar_and_a_new_day_replaces_all():
    consumer = Consumer(set())
    live_day(DAYS[0], {"late": ["10:02"], "late_by": "5m"}, consumer, [1800, 2100, 2400, 3600])
    first_day = consumer.record
    assert consumer.replaced > 0
    live_day(DAYS[1], {}, consumer, [600])
    assert consumer.record["session"]["date"] == DAYS[1] != first_day["session"]["date"]


def test_a_delta_with_its_own_cursor_is_empty_and_a_bad_cursor_is_refused():
    consumer = Consumer(set())
    live_day(DAYS[0], {}, consumer, [])
    cursor = consumer.cursor
    assert set(decode_cursor(cursor)["SPY"]) == {"1m", "5m", "15m", "30m", "1h", "1d"}
    with pytest.raises(ValueError, match="not an export cursor"):
        decode_cursor("nonsense")


def test_export_times_are_every_n_minutes_before_the_close():
    import datetime

    day = datetime.date(2011, 1, 5)
    open_ns, close_ns = CALENDAR.session(day)
    times = export_times(CALENDAR, [day], 30 * 60 * 10**9)
    assert times[0] == open_ns + 30 * 60 * 10**9 and times[-1] < close_ns and len(times) == 12
