"""Another extension cimports BarRing and drives its C API (ext/_ringprobe.pyx).

If `from mismartera.ext.ring cimport BarRing` did not resolve at build time the probe
would not exist; if the cimported type were bound to the wrong module at run time the
probe would fail to import or reject real rings.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext import _ringprobe, ring
from mismartera.ext.ring import BarRing
from tests.reference.ring import RefBarRing

CAPACITY = st.integers(min_value=1, max_value=50)
COUNT = st.integers(min_value=0, max_value=120)


def assert_ring_equals(got: BarRing, want: RefBarRing) -> None:
    assert len(got) == len(want)
    assert got.evicted == want.evicted
    for g, w in zip(got.arrays(), want.arrays(), strict=True):
        assert g.tobytes() == w.tobytes()


def test_probe_uses_the_ring_type_of_mismartera_ext_ring() -> None:
    assert BarRing.__module__ == "mismartera.ext.ring"
    with pytest.raises(TypeError):
        _ringprobe.push_ramp(object(), 0, 1, 1)  # typed BarRing argument checks the type


def test_pxd_ships_beside_the_module() -> None:
    pxd = resources.files("mismartera.ext") / "ring.pxd"
    assert "cdef class BarRing" in pxd.read_text()
    assert ring.BarRing is BarRing


@given(capacity=CAPACITY, n=COUNT, start=st.integers(-(10**12), 10**12))
def test_push_from_c_matches_the_reference(capacity: int, n: int, start: int) -> None:
    got, want = BarRing(capacity), RefBarRing(capacity)
    _ringprobe.push_ramp(got, start, 60, n)
    for i in range(n):
        x = float(i)
        want.append(start + 60 * i, x, x + 1.0, x - 1.0, x, 10.0 * x)
    assert_ring_equals(got, want)


@given(capacity=CAPACITY, before=COUNT, n=COUNT, seed=st.integers(0, 2**32 - 1))
def test_bulk_push_from_c_matches_the_reference(
    capacity: int, before: int, n: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    got, want = BarRing(capacity), RefBarRing(capacity)
    _ringprobe.push_ramp(got, 0, 1, before)
    for i in range(before):
        want.append(i, i, i + 1.0, i - 1.0, i, 10.0 * i)
    cols = [rng.integers(-(2**62), 2**62, size=n, dtype=np.int64)]
    cols += [rng.normal(size=n) for _ in range(5)]
    _ringprobe.push_block(got, *cols)
    want.extend(*cols)
    assert_ring_equals(got, want)


@given(capacity=CAPACITY, n=COUNT, window=st.integers(0, 60))
def test_reading_the_c_buffer_through_window_start(capacity: int, n: int, window: int) -> None:
    got = BarRing(capacity)
    _ringprobe.push_ramp(got, 0, 1, n)
    kept = range(max(0, n - capacity), n)  # closes are 0..n-1, the ring keeps the newest
    assert _ringprobe.close_sum(got, window) == float(sum(kept[max(0, len(kept) - window) :]))


def test_bulk_push_rejects_mismatched_lengths() -> None:
    cols = [np.arange(3, dtype=np.int64)] + [np.zeros(3)] * 4 + [np.zeros(2)]
    with pytest.raises(ValueError, match="differ in length"):
        _ringprobe.push_block(BarRing(4), *cols)


INCOMPLETE = r"^{} is not a streaming kernel: a Stream subclass must be .* it lacks {}$"


def test_a_stream_subclass_without_feed_is_refused_with_one_error():
    """The base feed cannot raise (noexcept nogil): it writes NaN and marks the kernel, and
    every user of a kernel checks the mark, with the GIL, before feeding it."""
    from mismartera.ext.indicator_bank import KernelBank
    from mismartera.ext.kernels import Stream

    with pytest.raises(TypeError, match=INCOMPLETE.format("NoFeed", "feed")):
        _ringprobe.NoFeed().update_many(np.ones(3))
    bank = KernelBank()
    with pytest.raises(TypeError, match=INCOMPLETE.format("NoFeed", "feed")):
        bank.add(_ringprobe.NoFeed(), ("close",))
    with pytest.raises(TypeError, match=INCOMPLETE.format("NoClear", "clear")):
        bank.add(_ringprobe.NoClear(), ("close",))
    with pytest.raises(TypeError, match=INCOMPLETE.format("NoClear", "clear")):
        _ringprobe.NoClear().reset()
    with pytest.raises(TypeError, match=INCOMPLETE.format("Mine", r"its inputs .*")):
        type("Mine", (Stream,), {})().update_many()
    assert len(bank) == 0
    assert _ringprobe.NoClear().update_many([1.0, 2.0]).tolist() == [1.0, 2.0]


def test_every_extension_is_checked_at_import():
    import mismartera

    built = {p.name.split(".")[0] for p in resources.files("mismartera.ext").iterdir()
             if p.name.endswith((".so", ".pyd"))}
    assert built and set(mismartera._EXTENSIONS) == built
