"""BarRing against the deque reference (state machine), plus its errors and views."""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from mismartera.ext.ring import COLUMNS, BarRing
from tests.reference.ring import RefBarRing
from tests.support.bench import load_bench

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOATS = st.floats(width=64)  # NaN, ±inf and -0.0 included: the ring stores bits as given
BAR = st.tuples(INT64, FLOATS, FLOATS, FLOATS, FLOATS, FLOATS)
WINDOW = st.none() | st.integers(min_value=0, max_value=6) | st.integers(min_value=0, max_value=60)


def bits(values) -> bytes:
    """Exact bytes of a bar tuple or array, so NaN == NaN and -0.0 != 0.0."""
    if isinstance(values, np.ndarray):
        return values.tobytes()
    return struct.pack("<q5d", *values)


SPECIALS = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308])


def random_columns(n: int, seed: int, as_lists: bool) -> list:
    """n random bars as six columns (cheaper for hypothesis than drawing every value)."""
    rng = np.random.default_rng(seed)
    ts = rng.integers(-(2**63), 2**63 - 1, size=n, dtype=np.int64, endpoint=True)
    cols: list = [ts]
    for _ in range(5):
        values = rng.normal(0.0, 1e3, size=n)
        special = rng.random(n) < 0.1
        values[special] = rng.choice(SPECIALS, size=int(special.sum()))
        cols.append(values)
    return [col.tolist() for col in cols] if as_lists else cols


def assert_same_arrays(got: tuple, want: tuple) -> None:
    assert len(got) == 6
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == (np.int64 if i == 0 else np.float64)
        assert g.ndim == 1
        assert g.flags.c_contiguous
        assert bits(g) == bits(w), COLUMNS[i]


class BarRingMachine(RuleBasedStateMachine):
    """Random appends, extends, reads and clears: BarRing must equal the deque model."""

    @initialize(capacity=st.integers(min_value=1, max_value=50))
    def create(self, capacity: int) -> None:
        self.ring = BarRing(capacity)
        self.ref = RefBarRing(capacity)

    @rule(bar=BAR)
    def append(self, bar: tuple) -> None:
        self.ring.append(*bar)
        self.ref.append(*bar)

    @rule(
        n=st.integers(min_value=0, max_value=120),
        seed=st.integers(0, 2**32 - 1),
        as_lists=st.booleans(),
    )
    def extend(self, n: int, seed: int, as_lists: bool) -> None:
        cols = random_columns(n, seed, as_lists)
        self.ring.extend(*cols)
        self.ref.extend(*cols)

    @rule(n=WINDOW)
    def extend_from_own_views(self, n: int | None) -> None:
        # The input aliases the ring's storage; the ring must read it before overwriting.
        self.ring.extend(*self.ring.arrays(n, copy=False))
        self.ref.extend(*self.ref.arrays(n))

    @rule(n=WINDOW, copy=st.booleans())
    def arrays(self, n: int | None, copy: bool) -> None:
        got = self.ring.arrays(n, copy=copy)
        assert_same_arrays(got, self.ref.arrays(n))
        for col in got:
            assert col.flags.writeable == copy
        if copy and len(got[0]):
            got[0][:] = 0  # a copy is the caller's own: scribbling on it changes nothing
            got[4][:] = -1.0
            assert_same_arrays(self.ring.arrays(n), self.ref.arrays(n))

    @rule(name=st.sampled_from(COLUMNS), n=WINDOW, copy=st.booleans())
    def column(self, name: str, n: int | None, copy: bool) -> None:
        got = self.ring.column(name, n, copy=copy)
        want = self.ref.arrays(n)[COLUMNS.index(name)]
        assert got.dtype == want.dtype
        assert bits(got) == bits(want)

    @rule()
    def clear(self) -> None:
        self.ring.clear()
        self.ref.clear()

    @rule()
    def last(self) -> None:
        if len(self.ref) == 0:
            with pytest.raises(IndexError):
                self.ring.last()
            with pytest.raises(IndexError):
                _ = self.ring.ts_last
        else:
            assert bits(self.ring.last()) == bits(self.ref.last())
            assert self.ring.ts_last == self.ref.last()[0]

    @invariant()
    def same_bars_and_counters(self) -> None:
        assert len(self.ring) == len(self.ref)
        assert bool(self.ring) == (len(self.ref) > 0)
        assert self.ring.evicted == self.ref.evicted
        assert self.ring.capacity == self.ref.capacity
        assert_same_arrays(self.ring.arrays(), self.ref.arrays())


TestBarRingMachine = BarRingMachine.TestCase
# Short runs (the profile still sets how many): a ring of capacity <= 50 shows every wrap
# and eviction case within 25 steps, and each step costs hypothesis far more than the ring.
TestBarRingMachine.settings = settings(stateful_step_count=25)


# ---- worked examples (expected values by hand) ----------------------------------------------


def ramp(start: int, stop: int) -> list[np.ndarray]:
    ts = np.arange(start, stop, dtype=np.int64)
    x = ts.astype(np.float64)
    return [ts, x, x + 1, x - 1, x + 0.5, 10 * x]


def test_extend_longer_than_capacity_keeps_the_newest_and_counts_all_evicted() -> None:
    ring = BarRing(3)
    ring.append(100, 1.0, 2.0, 0.5, 1.5, 7.0)
    ring.extend(*ramp(0, 10))
    assert ring.arrays()[0].tolist() == [7, 8, 9]
    assert ring.column("close").tolist() == [7.5, 8.5, 9.5]
    assert ring.evicted == 8  # the bar at 100 and bars 0..6
    assert ring.last() == (9, 9.0, 10.0, 8.0, 9.5, 90.0)


def test_windows_wrap_around_the_mirror() -> None:
    ring = BarRing(4)
    for t in range(6):  # slots wrap: the newest four are 2, 3, 4, 5
        ring.append(t, t, t, t, t, t)
    assert ring.arrays(3)[0].tolist() == [3, 4, 5]
    assert ring.arrays(0)[0].tolist() == []
    assert ring.arrays(99)[0].tolist() == [2, 3, 4, 5]
    assert ring.column("volume", 2).tolist() == [4.0, 5.0]
    assert len(ring) == 4 and ring.evicted == 2 and ring.ts_last == 5


def test_clear_returns_the_ring_to_new() -> None:
    ring = BarRing(2)
    ring.extend(*ramp(0, 5))
    ring.clear()
    assert len(ring) == 0 and not ring and ring.evicted == 0
    assert all(len(col) == 0 for col in ring.arrays())
    ring.append(42, 1.0, 1.0, 1.0, 1.0, 1.0)
    assert ring.arrays()[0].tolist() == [42]


def test_extend_accepts_lists_and_other_numeric_dtypes() -> None:
    ring = BarRing(5)
    ring.extend([1, 2], [1, 2], np.array([3, 4], np.float32), [0, 1], [2, 3], [5, 6])
    ts, o, h, _, _, v = ring.arrays()
    assert ts.dtype == np.int64 and o.dtype == np.float64
    assert ts.tolist() == [1, 2] and h.tolist() == [3.0, 4.0] and v.tolist() == [5.0, 6.0]
    ring.extend([], [], [], [], [], [])
    assert len(ring) == 2


# ---- views ------------------------------------------------------------------------------------


def test_views_are_read_only_and_cannot_be_made_writeable() -> None:
    ring = BarRing(4)
    ring.extend(*ramp(0, 6))
    for view in (*ring.arrays(copy=False), ring.column("close", 2, copy=False)):
        assert not view.flags.writeable
        with pytest.raises(ValueError):
            view[0] = 0
        with pytest.raises(ValueError):
            view.flags.writeable = True
        with pytest.raises(ValueError):
            view[1:].flags.writeable = True


def test_views_keep_the_ring_alive() -> None:
    ring = BarRing(3)
    ring.extend(*ramp(0, 3))
    ts, *_, volume = ring.arrays(copy=False)
    del ring  # the views' base holds the last reference now
    assert ts.tolist() == [0, 1, 2]
    assert volume.tolist() == [0.0, 10.0, 20.0]


def test_copies_are_independent_of_the_ring() -> None:
    ring = BarRing(3)
    ring.extend(*ramp(0, 3))
    ts = ring.arrays()[0]
    assert ts.flags.writeable and ts.flags.owndata
    ring.append(9, 9.0, 9.0, 9.0, 9.0, 9.0)
    assert ts.tolist() == [0, 1, 2]


def test_pickle_round_trip_keeps_bars_and_counters() -> None:
    ring = BarRing(4)
    ring.extend(*ramp(0, 7))
    back = pickle.loads(pickle.dumps(ring))
    assert back.capacity == 4 and back.evicted == 3 and len(back) == 4
    for a, b in zip(back.arrays(), ring.arrays(), strict=True):
        assert bits(a) == bits(b)


# ---- bad arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize("capacity", [0, -1, -(2**40)])
def test_capacity_must_be_positive(capacity: int) -> None:
    with pytest.raises(ValueError, match="capacity"):
        BarRing(capacity)


def test_capacity_must_be_an_integer() -> None:
    with pytest.raises(TypeError):
        BarRing(2.5)  # type: ignore[arg-type]


def test_capacity_is_read_only() -> None:
    ring = BarRing(3)
    with pytest.raises(AttributeError):
        ring.capacity = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ring.evicted = 5  # type: ignore[misc]


def test_extend_rejects_mismatched_lengths() -> None:
    ring = BarRing(3)
    cols = ramp(0, 3)
    cols[3] = cols[3][:2]
    with pytest.raises(ValueError, match="differ in length"):
        ring.extend(*cols)
    assert len(ring) == 0


def test_extend_rejects_non_1d_columns() -> None:
    ring = BarRing(3)
    cols = ramp(0, 4)
    cols[2] = cols[2].reshape(2, 2)
    with pytest.raises(ValueError, match="high must be a one-dimensional array"):
        ring.extend(*cols)
    with pytest.raises(ValueError, match="one-dimensional"):
        ring.extend(5, 1.0, 1.0, 1.0, 1.0, 1.0)


def test_extend_rejects_float_timestamps() -> None:
    ring = BarRing(3)
    with pytest.raises(ValueError, match="int64 nanoseconds"):
        ring.extend([1.5], [1.0], [1.0], [1.0], [1.0], [1.0])


@pytest.mark.parametrize("n", [-1, -(2**70)])
def test_negative_window_is_rejected(n: int) -> None:
    ring = BarRing(3)
    with pytest.raises(ValueError, match="n must be >= 0"):
        ring.arrays(n)
    with pytest.raises(ValueError, match="n must be >= 0"):
        ring.column("ts", n)


def test_huge_window_means_everything() -> None:
    ring = BarRing(3)
    ring.extend(*ramp(0, 2))
    assert ring.arrays(2**70)[0].tolist() == [0, 1]


def test_window_must_be_an_integer() -> None:
    with pytest.raises(TypeError):
        BarRing(3).arrays(1.0)  # type: ignore[arg-type]


def test_unknown_column_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown column 'vwap'"):
        BarRing(3).column("vwap")  # type: ignore[arg-type]


def test_append_takes_six_positional_values() -> None:
    ring = BarRing(3)
    with pytest.raises(TypeError):
        ring.append(1, 1.0, 1.0, 1.0, 1.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ring.append("x", 1.0, 1.0, 1.0, 1.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        ring.append(2**63, 1.0, 1.0, 1.0, 1.0, 1.0)
    assert len(ring) == 0


# ---- benchmark smoke test (no timing asserted) -----------------------------------------------


def test_bench_ring_runs_with_a_small_n(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench("bench_ring")
    table = bench.main(["--n", "2000", "--capacity", "500", "--repeat", "1"])
    assert "BarRing.append, Python loop" in table and "deque.append(tuple)" in table
    assert table in capsys.readouterr().out
