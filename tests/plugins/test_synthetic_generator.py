"""The `synthetic` source's generator: splitmix64 hashing, valid and deterministic sessions."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.bars import Bars
from mismartera.plugins.sources.synthetic import gen as synthetic_gen
from mismartera.plugins.sources.synthetic import generate_session_bars, generate_sessions
from tests.support.sources import (
    EXTENDED_AFTER,
    EXTENDED_BEFORE,
    HOUR,
    MIN,
    NS,
    assert_bars_equal,
    assert_columnar,
    ny_ns,
)


def test_hash_is_splitmix64():
    # first output of splitmix64 seeded with 0 (the published reference value)
    golden = 0x9E3779B97F4A7C15
    assert synthetic_gen._mix_scalar(golden) == 0xE220A8397B1DCDAF
    values = [0, 1, golden, 2**64 - 1, 0x0123456789ABCDEF]
    mixed = synthetic_gen._mix(np.array(values, dtype=np.uint64))
    assert mixed.tolist() == [synthetic_gen._mix_scalar(v) for v in values]


INTERVAL_NS = {
    "1s": (NS, 600),
    "5s": (5 * NS, 600),
    "1m": (MIN, 400),
    "5m": (5 * MIN, 100),
    "1h": (HOUR, 10),
    "1d": (86_400 * NS, 1),
}


@st.composite
def one_session(draw):
    """A session of random length (possibly not a whole number of intervals) opening on a
    whole minute of a random day."""
    name = draw(st.sampled_from(sorted(INTERVAL_NS)))
    interval_ns, most = INTERVAL_NS[name]
    day = draw(st.integers(7_000, 25_000))
    open_ns = day * 86_400 * NS + draw(st.integers(0, 23 * 60)) * MIN
    if name == "1d":
        length = draw(st.integers(1, 24 * 60)) * MIN
    else:
        length = draw(st.integers(1, most)) * interval_ns
        length -= draw(st.integers(0, interval_ns // NS - 1)) * NS  # truncated last bar
    return name, interval_ns, open_ns, open_ns + length


@given(
    session=one_session(),
    seed=st.integers(0, 2**64 - 1),
    symbol=st.sampled_from(["SYN0", "SPY", "BRK.B", "x"]),
    gap_rate=st.sampled_from([0.0, 0.0, 0.05, 0.5, 0.99]),
    extended=st.booleans(),
)
def test_generated_session_is_valid_and_deterministic(session, seed, symbol, gap_rate, extended):
    name, interval_ns, open_ns, close_ns = session
    bars = generate_session_bars(
        symbol, open_ns, close_ns, interval_ns, seed, gap_rate=gap_rate, extended_hours=extended
    )
    assert_columnar(bars)
    assert bars.valid_mask().all()
    assert np.all(bars.low > 0) and np.all(bars.volume >= 1)
    assert np.all(bars.volume == np.floor(bars.volume))
    # the same call gives the same arrays
    again = generate_session_bars(
        symbol, open_ns, close_ns, interval_ns, seed, gap_rate=gap_rate, extended_hours=extended
    )
    assert_bars_equal(bars, again)

    regular = (bars.ts >= open_ns) & (bars.ts < close_ns)
    inside = bars.take(regular)
    assert np.all((inside.ts - open_ns) % interval_ns == 0)
    full = generate_session_bars(symbol, open_ns, close_ns, interval_ns, seed)
    expected_count = -(-(close_ns - open_ns) // interval_ns)
    assert full.ts.tolist() == list(range(open_ns, close_ns, interval_ns))
    assert len(full) == expected_count
    # a random walk: each bar opens where the previous one closed
    np.testing.assert_array_equal(full.open[1:], full.close[:-1])
    # dropping bars leaves the remaining ones unchanged
    kept = np.isin(full.ts, inside.ts)
    assert_bars_equal(inside, full.take(kept))
    if gap_rate == 0.0:
        assert len(inside) == expected_count

    outside = bars.take(~regular)
    if not extended or name == "1d":
        assert len(outside) == 0
    else:
        before = outside.ts < open_ns
        pre, post = outside.ts[before], outside.ts[~before]
        assert np.all(pre >= open_ns - EXTENDED_BEFORE)
        assert np.all((open_ns - pre) % interval_ns == 0)
        assert np.all(post < close_ns + EXTENDED_AFTER)
        assert np.all((post - close_ns) % interval_ns == 0)


@given(
    days=st.lists(st.integers(0, 60), min_size=1, max_size=5, unique=True),
    short=st.lists(st.integers(1, 390), min_size=5, max_size=5),
    seed=st.integers(0, 1000),
    gap_rate=st.sampled_from([0.0, 0.1]),
    extended=st.booleans(),
)
def test_sessions_generated_together_equal_sessions_generated_alone(
    days, short, seed, gap_rate, extended
):
    first = ny_ns(date(2019, 1, 2), 9, 30)
    opens = [first + d * 86_400 * NS for d in sorted(days)]
    closes = [o + (390 if i % 2 else short[i]) * MIN for i, o in enumerate(opens)]
    options = {"gap_rate": gap_rate, "extended_hours": extended}
    together = generate_sessions("SYN1", opens, closes, MIN, seed, **options)
    alone = Bars.concat(
        [
            generate_session_bars("SYN1", o, c, MIN, seed, **options)
            for o, c in zip(opens, closes, strict=True)
        ]
    )
    assert_bars_equal(together, alone)


def test_generate_sessions_edge_cases():
    assert len(generate_sessions("SYN0", [], [], MIN)) == 0
    with pytest.raises(ValueError, match="close after it opens"):
        generate_session_bars("SYN0", 10 * MIN, 10 * MIN, MIN)
