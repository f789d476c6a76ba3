"""What the strategy engine asks of the kernels: step_until's `watch` (the per-step callback
hears only of watched intervals' closes) and `bounds` (bucket ends are steps even without a
base bar), and KernelBank.value (a value some bars back, without copying)."""

from __future__ import annotations

import math

import numpy as np

from mismartera.ext import kernels
from mismartera.ext.indicator_bank import KernelBank
from mismartera.ext.pipeline import step_until
from tests.support.pipeline import minute_pipeline
from tests.support.strategies import MINUTE


def loaded(drop=()):
    built, open_ns, close_ns = minute_pipeline(capacity=400)
    ts = open_ns + MINUTE * np.arange(30, dtype=np.int64)
    ts = ts[~np.isin(ts, open_ns + MINUTE * np.asarray(drop, dtype=np.int64))]
    price = 100.0 + np.arange(len(ts), dtype=np.float64)
    built.pipeline.load(ts, price, price + 1, price - 1, price, np.ones(len(ts)), open_ns,
                        close_ns)
    return built.pipeline, open_ns


def run(pipeline, until, **kwargs):
    steps, bars = [], []
    targets = [[[], [lambda bar: bars.append((steps[-1][0], bar.ts))]]]
    step_until([pipeline], until, targets, np.zeros(1, np.uint8),
               lambda t, changed: steps.append((t, list(changed))), None, **kwargs)
    return steps, bars


def test_watch_tells_on_step_only_of_watched_intervals():
    pipeline, open_ns = loaded()
    steps, _ = run(pipeline, open_ns + 30 * MINUTE, watch=np.array([[0, 1]], np.uint8))
    assert len(steps) == 30
    assert [t for t, changed in steps if changed] == [open_ns + k * 5 * MINUTE
                                                      for k in range(1, 7)]
    pipeline, open_ns = loaded()
    steps, _ = run(pipeline, open_ns + 30 * MINUTE)
    assert all(changed == [0] for _, changed in steps)


def test_bounds_close_a_bucket_missing_its_last_bar_at_its_end():
    pipeline, open_ns = loaded(drop=[4])  # 09:34 missing: the first 5m bucket's last bar
    _, late = run(pipeline, open_ns + 30 * MINUTE)
    assert late[0] == (open_ns + 6 * MINUTE, open_ns)  # handed out at the next base close
    pipeline, open_ns = loaded(drop=[4])
    bounds = open_ns + 5 * MINUTE * np.arange(1, 7, dtype=np.int64)
    steps, on_time = run(pipeline, open_ns + 30 * MINUTE, bounds=bounds)
    assert on_time[0] == (open_ns + 5 * MINUTE, open_ns)
    assert [ts for _, ts in on_time] == [ts for _, ts in late]
    assert [t for t, _ in steps][:6] == [open_ns + k * MINUTE for k in (1, 2, 3, 4, 5, 6)]


def test_bank_value_ago():
    bank = KernelBank(4)
    i = bank.add(kernels.SMA(2), ("close",))
    close = np.arange(1.0, 7.0)
    bank.new_session()
    bank.feed(close, close, close, close, close)
    history = bank.history(i)
    assert [bank.value(i, 0, ago, 2) for ago in range(5)] == history[::-1][:5].tolist()
    assert math.isnan(bank.value(i, 0, 5, 2))  # its first value: not ready with warmup 2
    assert math.isnan(bank.value(i, 0, 6))  # before this session's first value
    bank.new_session()
    assert bank.value(i, 0, 0, 2) == history[-1] and math.isnan(bank.value(i, 0, 1))
