"""Stepping only at the bounds (observers and indicators on derived intervals) == bar by bar:
the same bars handed out at the same clock, the same indicator values and quality seen."""

from __future__ import annotations

import datetime
from dataclasses import replace

import pytest

from mismartera.session.stepping import Stepper
from tests.support import engine
from tests.support.engine import dumps, run_with


class Watcher:
    """Records, at each bar of its intervals, the clock, the quality of every interval of
    the symbol and the indicators' last values."""

    def __init__(self, intervals: tuple[str, ...]) -> None:
        self.intervals = intervals
        self.seen: list = []

    def on_bar(self, ctx, symbol, interval, bar) -> None:
        s = ctx.session_data[symbol]
        values = repr({key: state.value for key, state in sorted(s.indicators.items())})
        self.seen.append((symbol, interval, tuple(bar), ctx.now_ns, values,
                          {n: (iv.quality, iv.gaps) for n, iv in s.bars.items()}))


def _config(quality_s: float, streams: list[str], at: str, python: bool = False):
    """Compiled indicators on `at` and the base (and with `python`, one running in Python)."""
    cfg = engine.synthetic_config(streams__intervals=streams, session__start="2014-11-26",
                           session__end="2014-12-01", data__seed=3)
    specs = [{"name": "sma", "interval": at, "params": {"period": 3}},
             {"name": "rsi", "interval": at, "params": {"period": 2}},
             {"name": "ema", "interval": streams[0], "params": {"period": 4}}]
    if python:
        specs.append({"name": "range_mean", "interval": at, "params": {"period": 4}})
    return replace(engine.with_indicators(cfg, specs), quality_interval_s=quality_s)


def _stops() -> list[int]:
    """Stop times off the bucket ends (7m13s apart) on the first day."""
    open_ns, close_ns = engine.CALENDAR.session(datetime.date(2014, 11, 26))
    return list(range(open_ns + 433 * 10**9, close_ns, 433 * 10**9))


@pytest.mark.parametrize("quality_s,streams,observed,stops,python", [
    (60.0, ["1m", "5m"], ("5m",), False, False),
    (90.0, ["1m", "5m", "15m"], ("5m", "15m"), True, False),
    (420.0, ["1m", "3m", "1h"], ("1h",), False, False),
    (420.0, ["1m", "3m", "1h"], ("3m",), True, False),
    (90.0, ["1m", "5m", "15m"], ("15m",), True, True),
])
def test_stepping_at_bounds_equals_bar_by_bar(monkeypatch, quality_s, streams, observed, stops,
                                              python):
    cfg = _config(quality_s, streams, observed[-1], python)
    coarse = Watcher(observed)
    kwargs = {"stop_times": _stops()} if stops else {}
    _, doc = run_with(engine.indicator_plugins(), cfg, observers=[coarse], **kwargs)
    used: list[bool] = []
    original = Stepper.only_bounds_observed

    def spy(self, *args):
        used.append(original(self, *args))
        return False

    monkeypatch.setattr(Stepper, "only_bounds_observed", spy)
    fine = Watcher(observed)
    _, doc_fine = run_with(engine.indicator_plugins(), cfg, observers=[fine], **kwargs)
    # the first run stepped at the bounds only (with an indicator in Python, not: its base
    # indicator must hear of every step)
    assert used and all(u == (not python) for u in used)
    assert coarse.seen == fine.seen and len(coarse.seen) > 30
    assert dumps(doc) == dumps(doc_fine)


def test_an_observer_of_the_base_steps_bar_by_bar():
    cfg = _config(60.0, ["1m", "5m"], "5m")
    steppers: list[Stepper] = []
    original = Stepper.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        steppers.append(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Stepper, "__init__", spy)
        run_with(engine.indicator_plugins(), replace(cfg, end=datetime.date(2014, 11, 26)),
                 observers=[Watcher(("1m", "5m"))])
    assert steppers and all(s.quality_time is None for s in steppers)
