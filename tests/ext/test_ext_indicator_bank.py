"""mismartera.ext.indicator_bank: a KernelBank equals the reference bank (every kernel fed
one row at a time through its scalar `update`), bit for bit, whatever the kernels, fields,
seeds and chunks; and it refuses bad input with one clear error."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext import kernels
from mismartera.ext.indicator_bank import FIELDS, KernelBank
from mismartera.ext.ring import BarRing
from tests.reference.indicator_bank import ReferenceBank
from tests.support.kernels import KERNELS, Kernel

PERIOD = st.integers(1, 12)
FIELD = st.sampled_from(FIELDS)


@st.composite
def bank_kernel(draw, kernel: Kernel):
    """(a maker of fresh kernels of one kind with drawn parameters, the fields it reads): any
    bar field for a kernel of one input."""
    params = draw(kernel.params(PERIOD), label="params")
    options = draw(kernel.stream_options, label="options")
    fields = (draw(FIELD),) if len(kernel.inputs) == 1 else kernel.inputs
    return partial(kernel.stream, *params, **options), fields


KERNEL_SPECS = st.one_of(*(bank_kernel(kernel) for kernel in KERNELS))


@st.composite
def bars(draw, n: int) -> tuple[np.ndarray, ...]:
    """(ts, open, high, low, close, volume) of n random-walk bars, with repeats."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    if draw(st.booleans()):
        close[rng.random(n) < 0.4] = 100.0
    high = close * (1 + np.abs(rng.normal(0, 0.003, n)))
    low = close * (1 - np.abs(rng.normal(0, 0.003, n)))
    open_ = (high + low) / 2
    volume = np.floor(rng.exponential(100, n)) * (rng.random(n) < 0.9)
    return np.arange(n, dtype=np.int64) * 60, open_, high, low, close, volume


def assert_same(bank: KernelBank, ref: ReferenceBank) -> None:
    for i, e in enumerate(ref.entries):
        assert bank.count(i) == e.count
        assert bank.recorded(i) == len(e.history[0])
        np.testing.assert_array_equal(bank.last(i), e.last)
        for j, values in enumerate(e.history):
            np.testing.assert_array_equal(bank.history(i, j), np.array(values, np.float64))


@given(data=st.data(), specs=st.lists(st.tuples(KERNEL_SPECS, st.integers(1, 30), st.integers(0, 3),
                                                 st.booleans()), min_size=1, max_size=5),
       day_sizes=st.lists(st.integers(0, 25), max_size=4),
       sessions=st.lists(st.lists(st.integers(0, 40), max_size=6), min_size=1, max_size=3))
def test_bank_equals_the_reference(data, specs, day_sizes, sessions):
    """Seeded once (anchored at a drawn day), then carried over several sessions of drawn
    chunks, from a ring or from arrays."""
    capacity = data.draw(st.integers(0, 50))
    bank, ref = KernelBank(capacity), ReferenceBank()
    for (make, fields), lookback, seed_days, per_session in specs:
        assert bank.add(make(), fields, lookback, seed_days, per_session) == ref.add(
            make(), fields, lookback, seed_days, per_session)
    assert len(bank) == len(specs)
    history = data.draw(bars(sum(day_sizes)))
    day_index = np.concatenate([[0], np.cumsum(day_sizes)]).astype(np.int64)
    anchor = data.draw(st.integers(-1, len(day_sizes)), label="anchor")
    bank.restart()
    ref.restart()
    bank.seed(*history[1:], day_index, anchor)
    ref.seed(history[1:], list(day_index), anchor)
    assert_same(bank, ref)
    for chunk_sizes in sessions:  # each session carries on from the one before
        bank.new_session()
        ref.new_session()
        assert_same(bank, ref)
        session = data.draw(bars(sum(chunk_sizes)))
        ring_size = data.draw(st.integers(1, max(1, sum(chunk_sizes))))
        ring = BarRing(ring_size)
        done = 0
        for size in chunk_sizes:
            chunk = tuple(c[done:done + size] for c in session)
            done += size
            if data.draw(st.booleans(), label="from the ring"):
                ring.extend(*chunk)
                bank.advance(ring, size)  # a ring smaller than the chunk gives its last bars
                ref.feed(tuple(c[max(0, size - ring_size):] for c in chunk[1:]))
            else:
                bank.feed(*chunk[1:])
                ref.feed(chunk[1:])
        assert_same(bank, ref)


def test_seed_takes_each_kernels_last_bars_of_its_last_days():
    bank = KernelBank()
    close = np.arange(1.0, 11.0)  # days of 4, 3 and 3 bars
    cols = (close, close, close, close, close)
    one = bank.add(kernels.RollingSum(50), ("close",), lookback=5, seed_days=1)
    two = bank.add(kernels.RollingSum(50), ("close",), lookback=5, seed_days=2)
    never = bank.add(kernels.RollingSum(50), ("close",), lookback=5, seed_days=0)
    daily = bank.add(kernels.RollingSum(1), ("close",), lookback=5, seed_days=2,
                     per_session=True)
    bank.seed(*cols, [0, 4, 7, 10])
    assert bank.count(one) == 3 and bank.count(two) == 5 and bank.count(never) == 0
    assert bank.count(daily) == 0  # a per-session kernel is never seeded
    window = bank.add(kernels.RollingSum(3), ("close",), lookback=3, seed_days=2)
    bank.restart()
    bank.seed(*cols, [0, 4, 7, 10])
    assert bank.last(window) == (8.0 + 9.0 + 10.0,)
    assert bank.recorded(window) == 0 and bank.history(window).tolist() == []
    bank.feed(*(c[:1] for c in cols))  # session bars are recorded
    assert bank.history(window).tolist() == [9.0 + 10.0 + 1.0] and bank.count(window) == 4
    bank.new_session()  # carried on: nothing recorded yet, the state kept
    assert bank.recorded(window) == 0 and bank.count(window) == 4
    assert bank.count(daily) == 0 and bank.count(one) == 4
    bank.feed(*(c[1:2] for c in cols))
    assert bank.history(window).tolist() == [10.0 + 1.0 + 2.0]
    assert bank.history(daily).tolist() == [2.0]


def test_seed_anchored_before_the_last_day_feeds_every_bar_from_the_anchor_on():
    bank = KernelBank()
    close = np.arange(1.0, 11.0)  # days of 4, 3 and 3 bars; the anchor is the second day
    cols = (close, close, close, close, close)
    total = bank.add(kernels.RollingSum(8), ("close",), lookback=2, seed_days=1)
    bank.seed(*cols, [0, 4, 7, 10], 1)
    assert bank.count(total) == 2 + 6 and bank.last(total) == (sum(range(3, 11)),)
    with pytest.raises(ValueError, match=r"anchor must be a day position in 0\.\.3, got 4"):
        bank.seed(*cols, [0, 4, 7, 10], 4)


def test_bad_input_is_one_clear_error():
    bank = KernelBank()
    with pytest.raises(ValueError, match=r"reads 3 fields \(high, low, close\), got 1"):
        bank.add(kernels.ATR(3), ("close",))
    with pytest.raises(ValueError, match="unknown bar field 'price'"):
        bank.add(kernels.SMA(3), ("price",))
    with pytest.raises(TypeError):
        bank.add(object(), ("close",))
    with pytest.raises(TypeError, match="is not a streaming kernel"):
        bank.add(type("Mine", (kernels.Stream,), {})(), ("close",))
    i = bank.add(kernels.BBands(3), ("close",))
    with pytest.raises(IndexError, match="no kernel 1 in a bank of 1"):
        bank.count(1)
    with pytest.raises(IndexError, match="has 3 outputs, not 4"):
        bank.history(i, 3)
    x = np.ones(5)
    with pytest.raises(ValueError, match="volume must be a one-dimensional array of at least 5"):
        bank.feed(x, x, x, x, x[:2])
    with pytest.raises(ValueError, match="close must be a one-dimensional array"):
        bank.seed(x, x, x, np.ones((5, 1)), x, [0, 5])
    assert bank.count(i) == 0  # nothing was fed
