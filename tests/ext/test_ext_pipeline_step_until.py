"""mismartera.ext.pipeline: step_until against the model, ClosedBar, real minutes, bench smoke."""

from __future__ import annotations

import pickle
import threading
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext.aggregate import aggregate_bars
from mismartera.ext.pipeline import ClosedBar, step_until
from tests.reference import pipeline as ref
from tests.support.data import require_data
from tests.support.pipeline import (
    BASES,
    BIG,
    DAY,
    LAYOUTS,
    Layout,
    as_rows,
    assert_same,
    build,
    layouts,
    minute_pipeline,
    one_session,
    session_bars,
)
from tests.support.strategies import HOUR, MINUTE, new_york_ns

# ---------------------------------------------------------------------------------------
# step_until


class LoggedLock:
    """A lock that logs when it is taken and let go (single thread: no real locking)."""

    def __init__(self, log: list) -> None:
        self.log = log
        self.held = False

    def acquire(self) -> None:
        assert not self.held
        self.held = True
        self.log.append(("lock",))

    def release(self) -> None:
        assert self.held
        self.held = False
        self.log.append(("unlock",))


class Recorder:
    """Logs every on_step call and every bar handed to a target into one list (with whether
    the lock was held); can raise the interrupt flag at the `stop_at`-th target call."""

    def __init__(self, stop_at: int | None = None, use_lock: bool = False) -> None:
        self.log: list[tuple] = []
        self.interrupt = np.zeros(1, np.uint8)
        self.stop_at = stop_at
        self.calls = 0
        self.lock = LoggedLock(self.log) if use_lock else None

    def held(self) -> bool:
        return self.lock is not None and self.lock.held

    def on_step(self, t: int, changed: list[int]) -> None:
        self.log.append(("step", t, list(changed), self.held()))

    def target(self, i: int, k: int, tag: int):
        def record(bar) -> None:
            assert type(bar) is ClosedBar
            self.log.append(("bar", i, k, tag, tuple(bar), self.held()))
            self.calls += 1
            if self.calls == self.stop_at:
                self.interrupt[0] = 1
                self.log.append(("interrupt",))
        return record


@st.composite
def step_cases(draw):
    """1-3 pipelines on one session, each with its own layout and gaps; which targets each
    interval has (0-2); cut-off times; where (if anywhere) a target raises the interrupt."""
    n = draw(st.integers(1, 3))
    bases = draw(st.lists(BASES, min_size=n, max_size=n))
    open_ns, close_ns = draw(one_session(max(bases)))  # on every base's grid
    pipes = []
    for base in bases:
        layout = draw(layouts(base))
        bars = draw(session_bars(open_ns, close_ns, base))
        tags = draw(st.lists(st.integers(0, 2), min_size=1 + len(layout.derived),
                             max_size=1 + len(layout.derived)))
        pipes.append((layout, bars, tags))
    untils = sorted(draw(st.lists(
        st.one_of(st.integers(open_ns, close_ns), st.just(close_ns)), max_size=3)))
    stop_at = draw(st.none() | st.integers(1, 60))
    # the last cut-off is past the close
    return (open_ns, close_ns, pipes, [*untils, close_ns + HOUR], stop_at, draw(st.booleans()))


def run_steps(pipelines, pipes, untils, recorder, stepper, **kwargs) -> list:
    """step_until to each cut-off in turn, resuming after every interrupt; returns what
    each call returned, logged in order with the steps and bars."""
    targets = [[[recorder.target(i, k, tag) for tag in range(n_tags)]
                for k, n_tags in enumerate(tags)]
               for i, (_, _, tags) in enumerate(pipes)]
    for until in untils:
        while True:
            last = stepper(pipelines, until, targets, recorder.interrupt, recorder.on_step,
                           recorder.lock, **kwargs)
            recorder.log.append(("return", until, last))
            if not recorder.interrupt[0]:
                break
            recorder.interrupt[0] = 0
    return recorder.log


@given(step_cases())
def test_step_until_matches_reference(case):
    open_ns, close_ns, pipes, untils, stop_at, use_lock = case
    built, models = [], []
    for layout, bars, _ in pipes:
        got, want = build(layout, open_ns, close_ns)
        got.pipeline.set_queue(*bars)
        want.set_queue(*bars)
        built.append(got)
        models.append(want)
    got_log = run_steps([b.pipeline for b in built], pipes, untils,
                        Recorder(stop_at, use_lock), step_until)
    want_log = run_steps(models, pipes, untils, Recorder(stop_at, use_lock), ref.step_until,
                         bar_type=ClosedBar)
    assert got_log == want_log
    for got, want in zip(built, models, strict=True):
        assert_same(got, want, (close_ns,))
        assert got.pipeline.next_close is None

    # independent of the model: the steps are the distinct queued closes in order; a call
    # returns its last step's time (None without one), steps up to its `until` and no
    # further, and takes every close <= `until` unless interrupted, then stops right after
    # the step at which the flag went up; on_step runs holding the lock, targets without it
    assert all(e[-1] == use_lock for e in got_log if e[0] == "step")
    assert not any(e[-1] for e in got_log if e[0] == "bar")
    closes = sorted({m.close_of(bar) for m in models for bar in m.queue})
    assert [e[1] for e in got_log if e[0] == "step"] == closes
    done: list[int] = []
    events: list[tuple] = []
    for entry in got_log:
        if entry[0] != "return":
            events.append(entry)
            continue
        _, until, last = entry
        times = [e[1] for e in events if e[0] == "step"]
        done += times
        assert all(t <= until for t in times)
        assert last == (times[-1] if times else None)
        if ("interrupt",) in events:
            after = events[events.index(("interrupt",)):]
            assert not any(e[0] == "step" for e in after)
        else:
            assert done == [t for t in closes if t <= until]
        events = []


@given(step_cases())
def test_step_until_hands_every_closed_bar_once_in_order(case):
    """Without evictions, the bars handed for each interval over the day are exactly the
    interval's bars closed by the last step (all queued bars; the derived bars the closing
    rule gives at that time), in time order. Base bars close at the session close at the
    latest, so the closing rule applies."""
    open_ns, close_ns, pipes, *_ = case
    last_close = max((min(int(bars[0][-1]) + layout.base_ns, close_ns) for layout, bars, _ in pipes
                      if len(bars[0])), default=open_ns)
    pipelines, expected = [], []
    for layout, bars, _ in pipes:
        roomy = Layout(layout.base_ns, layout.derived, (BIG,) * len(layout.capacities))
        got, _ = build(roomy, open_ns, close_ns)
        got.pipeline.set_queue(*bars)
        pipelines.append(got.pipeline)
        queued = as_rows(bars)
        expected.append([queued] + [
            ref.closed_by(queued, last_close, open_ns, close_ns, layout.base_ns, iv)
            for iv in layout.derived])
    handed = [[[] for _ in e] for e in expected]
    targets = [[[lambda bar, out=handed[i][k]: out.append(tuple(bar))] for k in range(len(e))]
               for i, e in enumerate(expected)]
    step_until(pipelines, close_ns + HOUR, targets, np.zeros(1, np.uint8))
    assert handed == expected


def test_step_until_edges():
    open_ns = new_york_ns(date(2021, 8, 23), 9, 30)
    close_ns = open_ns + 390 * MINUTE
    got, _ = build(Layout(MINUTE, (5 * MINUTE,), (1, 1)), open_ns, close_ns)
    p = got.pipeline
    flag = np.zeros(1, np.uint8)
    assert step_until([], close_ns, [], flag) is None
    assert step_until([p], close_ns, [[[], []]], flag) is None  # nothing queued
    ts = open_ns + np.arange(12, dtype=np.int64) * MINUTE
    one = np.ones(12)
    p.set_queue(ts, one, one, one, one, one)
    assert step_until([p], open_ns + MINUTE - 1, [[[], []]], flag) is None
    assert p.pos == 0
    # an interrupt raised before the call still lets one step happen
    flag[0] = 1
    assert step_until([p], close_ns, [[[], []]], flag) == open_ns + MINUTE
    assert p.pos == 1
    flag[0] = 0
    # capacity-1 rings: a step that closes two 5m bars hands only the one the ring holds
    minutes = np.array([1, 2, 3, 4, 5, 6, 7, 8, 14], np.int64)
    p.set_queue(open_ns + minutes * MINUTE, *(np.ones(9),) * 5)
    seen: list = []
    step_until([p], open_ns + 10 * MINUTE, [[[], [seen.append]]], flag)
    assert [b.ts for b in seen] == [open_ns]
    assert step_until([p], close_ns, [[[], [seen.append]]], flag) == open_ns + 15 * MINUTE
    assert p.closed.tolist() == [1, 2]  # 09:35 (by the 09:44 bar) and 09:40 (it reached 09:45)
    assert [b.ts for b in seen] == [open_ns, open_ns + 10 * MINUTE]


def test_step_until_lets_the_lock_go_when_a_callback_raises():
    got, open_ns, close_ns = minute_pipeline()
    p = got.pipeline
    ts = open_ns + np.arange(4, dtype=np.int64) * MINUTE
    one = np.ones(4)
    p.set_queue(ts, one, one, one, one, one)
    lock = threading.Lock()  # not re-entrant: a lock left held shows
    flag = np.zeros(1, np.uint8)

    def on_step(t: int, changed: list[int]) -> None:
        if t == open_ns + 2 * MINUTE:
            raise KeyError("from on_step")

    def target(bar: ClosedBar) -> None:
        assert lock.acquire(blocking=False)  # free while bars are handed out
        lock.release()
        if bar.ts == open_ns + 2 * MINUTE:
            raise LookupError("from a target")

    with pytest.raises(KeyError, match="from on_step"):
        step_until([p], close_ns, [[[target], []]], flag, on_step, lock)
    assert p.pos == 2 and lock.acquire(blocking=False)
    lock.release()
    with pytest.raises(LookupError, match="from a target"):
        step_until([p], close_ns, [[[target], []]], flag, None, lock)
    assert p.pos == 3 and lock.acquire(blocking=False)
    lock.release()


def test_step_until_calls_every_kind_of_target_as_given():
    """Partials and bound methods are taken apart for one direct call: each kind of callable
    still gets exactly the arguments calling it would give."""
    import functools

    got, open_ns, _ = minute_pipeline()
    p = got.pipeline
    ts = open_ns + np.arange(3, dtype=np.int64) * MINUTE
    one = np.ones(3)
    p.set_queue(ts, one, one, one, one, one)
    log: list = []

    class Obs:
        def on_bar(self, *args, **kwargs):
            log.append((self, args[:-1], kwargs, args[-1].ts))

        @staticmethod
        def static(bar):
            log.append(("static", bar.ts))

    obs = Obs()
    many = tuple(range(9))  # more leading arguments than taken apart
    targets = [
        functools.partial(obs.on_bar, "ctx", "SYM", "1m"),
        functools.partial(obs.on_bar, "k", key=1),
        functools.partial(functools.partial(obs.on_bar, "a"), "b"),
        functools.partial(obs.on_bar, *many),
        obs.on_bar,
        Obs.static,
        lambda bar: log.append(("lambda", bar.ts)),
        log.append,
    ]
    step_until([p], open_ns + MINUTE, [[targets, []]], np.zeros(1, np.uint8))
    t0 = open_ns
    bar = log[-1]
    assert isinstance(bar, ClosedBar) and bar.ts == t0
    assert log[:-1] == [(obs, ("ctx", "SYM", "1m"), {}, t0), (obs, ("k",), {"key": 1}, t0),
                        (obs, ("a", "b"), {}, t0), (obs, many, {}, t0), (obs, (), {}, t0),
                        ("static", t0), ("lambda", t0)]


def test_closed_bar_reads_like_the_tuple_of_its_columns():
    bar = ClosedBar(7, 1.0, 2.0, 0.5, 1.5, 10.0)
    row = (7, 1.0, 2.0, 0.5, 1.5, 10.0)
    assert (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume) == row
    assert tuple(bar) == row and bar == row and len(bar) == 6
    assert bar[0] == 7 and bar[-1] == 10.0 and list(bar[1:3]) == [1.0, 2.0]
    ts, *_ = bar
    assert ts == 7 and type(ts) is int
    assert hash(bar) == hash(row) and bar != (7, 1.0)
    assert pickle.loads(pickle.dumps(bar)) == bar
    assert "ts=7" in repr(bar)
    with pytest.raises(AttributeError):
        bar.ts = 8


# ---------------------------------------------------------------------------------------
# real minutes: AAPL's 2014-11-28 early close, and the 2021-08-23 vendor drop-outs


def load_day(name: str, day: date, close_hm: tuple[int, int]):
    """One calendar day of a real minute file, pre-market and after-hours bars included, with
    the day's session open and close."""
    import pandas as pd

    df = pd.read_csv(require_data() / "minute" / name)
    ts = pd.to_datetime(df["timestamp"], utc=True).dt.as_unit("ns").astype("int64").to_numpy()
    open_ns, close_ns = new_york_ns(day, 9, 30), new_york_ns(day, *close_hm)
    keep = (ts >= open_ns - 6 * HOUR) & (ts < close_ns + 8 * HOUR)
    cols = [df[c].to_numpy(np.float64)[keep] for c in ("open", "high", "low", "close", "volume")]
    return open_ns, close_ns, (ts[keep], *cols)


@pytest.mark.parametrize(("files", "day", "close_hm", "after"), [
    (("AAPL_2014-11.csv", "SPY_2014-11.csv"), date(2014, 11, 28), (13, 0), (109, 138)),
    (("AAPL_2021-08.csv", "MSFT_2021-08.csv", "TSLA_2021-08.csv"), date(2021, 8, 23), (16, 0),
     None),
])
def test_real_minutes_load_and_step_by_step_match_reference(files, day, close_hm, after):
    layout = Layout(MINUTE, LAYOUTS[MINUTE], (BIG,) * 6)
    built, models, days = [], [], []
    for k, name in enumerate(files):
        open_ns, close_ns, raw = load_day(name, day, close_hm)
        got, want = build(layout, open_ns, close_ns)
        counts = got.pipeline.load(*raw, open_ns, close_ns)
        assert counts == want.load(*raw, open_ns, close_ns)
        if after is not None:  # the early close: the bars after 13:00 are outside
            assert ((raw[0] >= close_ns) & (raw[0] < close_ns + 6 * HOUR)).sum() == after[k]
            assert counts[3] >= after[k]
        built.append(got)
        models.append(want)
        days.append(got.pipeline.queue)
    pipes = [(layout, bars, (1,) * 6) for bars in days]
    untils = [open_ns + 95 * MINUTE, close_ns]
    got_log = run_steps([b.pipeline for b in built], pipes, untils, Recorder(500, True),
                        step_until)
    want_log = run_steps(models, pipes, untils, Recorder(500, True), ref.step_until,
                         bar_type=ClosedBar)
    assert got_log == want_log
    for got, want, bars in zip(built, models, days, strict=True):
        got.pipeline.advance(close_ns)  # as the engine does at the close
        want.advance(close_ns)
        assert_same(got, want, (open_ns + 95 * MINUTE, close_ns))
        assert len(got.rings[0]) == len(bars[0]) == (210 if close_hm == (13, 0) else 389)
        assert len(got.rings[-1]) == 1  # one 1d bar
        for ring, iv in zip(got.rings[1:], layout.derived, strict=True):
            assert as_rows(ring.arrays()) == as_rows(
                aggregate_bars(*bars, [open_ns], [close_ns], iv))


def test_a_base_bar_running_past_an_early_close_closes_at_the_close():
    """1h base on 2014-11-28 (09:30-13:00): the 12:30 bar is cut by the 13:00 close once
    `load` gave the session; it closes, with the 1d bar, at 13:00, not 13:30."""
    open_ns = new_york_ns(date(2014, 11, 28), 9, 30)
    close_ns = new_york_ns(date(2014, 11, 28), 13, 0)
    got, want = build(Layout(HOUR, (DAY,), (8, 8)), open_ns, close_ns)
    ts = open_ns + np.arange(-1, 5, dtype=np.int64) * HOUR  # 08:30 .. 13:30
    price = np.arange(6, dtype=np.float64) + 100
    raw = (ts, price, price + 1, price - 1, price, np.full(6, 10.0))
    assert got.pipeline.load(*raw, open_ns, close_ns) == (0, 0, 0, 2)
    want.load(*raw, open_ns, close_ns)
    steps: list[int] = []
    daily: list[tuple] = []
    last = step_until([got.pipeline], close_ns + HOUR, [[[], [lambda b: daily.append(tuple(b))]]],
                      np.zeros(1, np.uint8), lambda t, changed: steps.append(t))
    assert steps == [open_ns + k * HOUR for k in (1, 2, 3)] + [close_ns]
    assert last == close_ns
    assert daily == [(open_ns, 101.0, 105.0, 100.0, 104.0, 40.0)]
    assert got.pipeline.last_update == close_ns
    ref.step_until([want], close_ns + HOUR, [[[], []]], np.zeros(1, np.uint8))
    assert_same(got, want, (close_ns,))


# ---------------------------------------------------------------------------------------
# benchmark smoke test


def test_bench_pipeline_runs_with_a_small_n(capsys):
    """bench/bench_pipeline.py at tiny sizes (it checks both ways agree before timing)."""
    from tests.support.bench import load_bench

    bench = load_bench("bench_pipeline")
    bench.main(["--n", "3", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "SymbolPipeline.advance" in out and "step_until" in out
