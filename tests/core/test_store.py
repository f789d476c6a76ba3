"""BarStore: round trips, idempotent and conflicting writes, transactions, read-ahead."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.bars import Bars
from mismartera.errors import DataError
from mismartera.intervals import Interval
from mismartera.store import BarStore, WriteResult, default_store_path

MIN = 60_000_000_000
DAY = 86_400_000_000_000
T0 = 1_704_292_200_000_000_000  # 2024-01-03T09:30:00-05:00


def make_bars(ts, seed: int = 0) -> Bars:
    ts = np.asarray(ts, dtype=np.int64)
    rng = np.random.default_rng(seed)
    close = 100 + rng.normal(0, 1, len(ts)).round(2)
    open_ = close + rng.normal(0, 0.1, len(ts)).round(2)
    high = np.maximum(open_, close) + 0.05
    low = np.minimum(open_, close) - 0.05
    volume = rng.integers(0, 10_000, len(ts)).astype(np.float64)
    return Bars.from_arrays(ts, open_, high, low, close, volume)


def same(a: Bars, b: Bars) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def raw_rows(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute('SELECT * FROM bars ORDER BY symbol, "interval", ts').fetchall()
    finally:
        con.close()


@pytest.fixture
def store(tmp_path):
    with BarStore(tmp_path / "s.duckdb") as s:
        yield s


def test_round_trip_and_range(store):
    bars = make_bars(T0 + MIN * np.arange(390))
    assert store.write("spy", "1m", bars) == WriteResult(390, 0, 0)
    assert same(store.read("SPY", Interval.parse("1m"), T0, T0 + 390 * MIN), bars)
    # start inclusive, end exclusive
    got = store.read("SPY", "1m", T0 + 10 * MIN, T0 + 20 * MIN)
    assert same(got, bars.slice(10, 20))
    assert len(store.read("SPY", "1m", T0 + 10 * MIN, T0 + 10 * MIN)) == 0
    assert len(store.read("SPY", "5m", T0, T0 + DAY)) == 0
    assert len(store.read("QQQ", "1m", T0, T0 + DAY)) == 0
    assert got.ts.dtype == np.int64 and got.close.dtype == np.float64


def test_symbols_intervals_summary(store):
    store.write("msft", "5m", make_bars(T0 + 5 * MIN * np.arange(10)))
    store.write("AAPL", "1m", make_bars(T0 + MIN * np.arange(30)))
    store.write("AAPL", "1d", make_bars([T0, T0 + DAY]))
    store.write("AAPL", "5m", make_bars(T0 + 5 * MIN * np.arange(6)))
    assert store.symbols() == ["AAPL", "MSFT"]
    assert [i.name for i in store.intervals("aapl")] == ["1m", "5m", "1d"]
    assert [tuple(s) for s in store.summary()] == [
        ("AAPL", "1m", T0, T0 + 29 * MIN, 30),
        ("AAPL", "5m", T0, T0 + 25 * MIN, 6),
        ("AAPL", "1d", T0, T0 + DAY, 2),
        ("MSFT", "5m", T0, T0 + 45 * MIN, 10),
    ]
    assert store.count() == 48


def test_rewrite_is_idempotent(store, tmp_path):
    bars = make_bars(T0 + MIN * np.arange(100))
    store.write("SPY", "1m", bars)
    before = store.checksum()
    assert store.write("SPY", "1m", bars) == WriteResult(0, 100, 0)
    # an overlapping write inserts only the new bars
    more = make_bars(T0 + MIN * np.arange(100, 150), seed=1)
    assert store.write("SPY", "1m", Bars.concat([bars.slice(50, 100), more])) == (50, 50, 0)
    assert store.checksum() != before
    store.close()
    keys = [(r[0], r[1], r[2]) for r in raw_rows(tmp_path / "s.duckdb")]
    assert len(keys) == len(set(keys)) == 150


def test_conflict_rejected_and_store_unchanged(store):
    bars = make_bars(T0 + MIN * np.arange(20))
    store.write("SPY", "1m", bars)
    before = store.checksum()
    close = bars.close.copy()
    close[7] += 0.5
    close[12] += 0.5
    other = Bars(bars.ts, bars.open, np.maximum(bars.high, close), bars.low, close, bars.volume)
    extra = Bars.concat([other, make_bars([T0 + 100 * MIN])])
    with pytest.raises(DataError) as info:
        store.write("SPY", "1m", extra, tz=ZoneInfo("America/New_York"))
    msg = str(info.value)
    assert "SPY" in msg and "1m" in msg and "2024-01-03T09:37:00-05:00" in msg
    assert "2 conflicting bars" in msg
    assert store.checksum() == before
    assert len(store.read("SPY", "1m", T0, T0 + DAY)) == 20  # the extra bar did not land
    with pytest.raises(DataError, match=r"2024-01-03T14:37:00\+00:00"):  # UTC without a tz
        store.write("SPY", "1m", extra)


def test_replace_overwrites(store):
    bars = make_bars(T0 + MIN * np.arange(20))
    store.write("SPY", "1m", bars)
    newer = make_bars(T0 + MIN * np.arange(10, 30), seed=5)
    assert store.write("SPY", "1m", newer, replace=True) == WriteResult(10, 0, 10)
    got = store.read("SPY", "1m", T0, T0 + DAY)
    assert same(got, Bars.concat([bars.slice(0, 10), newer]))


def test_transaction_is_all_or_nothing(store):
    store.write("SPY", "1m", make_bars(T0 + MIN * np.arange(5)))
    before = store.checksum()
    with pytest.raises(DataError), store.transaction():
        store.write("AAPL", "1m", make_bars(T0 + MIN * np.arange(50)))
        store.write("SPY", "1m", make_bars(T0 + MIN * np.arange(5), seed=9))  # conflicts
    assert store.checksum() == before
    assert store.symbols() == ["SPY"]
    with store.transaction():
        store.write("AAPL", "1m", make_bars(T0 + MIN * np.arange(50)))
        store.write("MSFT", "1m", make_bars(T0 + MIN * np.arange(50)))
    assert store.symbols() == ["AAPL", "MSFT", "SPY"]


def test_checksum_independent_of_insertion_order(tmp_path):
    a = make_bars(T0 + MIN * np.arange(40), seed=1)
    b = make_bars(T0 + DAY + MIN * np.arange(40), seed=2)
    with BarStore(tmp_path / "x.duckdb") as x, BarStore(tmp_path / "y.duckdb") as y:
        x.write("SPY", "1m", a)
        x.write("SPY", "1m", b)
        y.write("SPY", "1m", b)
        y.write("SPY", "1m", a)
        assert x.checksum() == y.checksum()
        # reads come back in time order although the rows were inserted out of order
        assert same(y.read("SPY", "1m", T0, T0 + 2 * DAY), Bars.concat([a, b]))
        y.write("SPY", "1m", make_bars([T0 + 3 * DAY]))
        assert x.checksum() != y.checksum()


def test_readahead_cache_sees_writes(tmp_path):
    with BarStore(tmp_path / "s.duckdb") as s:
        s.write("SPY", "1m", make_bars(T0 + MIN * np.arange(10)))
        assert len(s.read("SPY", "1m", T0 - DAY, T0)) == 0
        assert len(s.read("SPY", "1m", T0, T0 + DAY)) == 10  # walking forward: reads ahead
        s.write("SPY", "1m", make_bars(T0 + DAY + MIN * np.arange(10)))
        assert len(s.read("SPY", "1m", T0 + DAY, T0 + 2 * DAY)) == 10
        assert len(s.read("SPY", "1m", T0 + 2 * DAY, T0 + 3 * DAY)) == 0
        with s.transaction():  # reads inside a transaction see its own writes
            s.write("SPY", "1m", make_bars(T0 + 2 * DAY + MIN * np.arange(3)))
            assert len(s.read("SPY", "1m", T0 + 2 * DAY, T0 + 3 * DAY)) == 3
        assert len(s.read("SPY", "1m", T0 + 2 * DAY, T0 + 3 * DAY)) == 3
    with BarStore(tmp_path / "s.duckdb", readahead_ns=0) as s:
        assert len(s.read("SPY", "1m", T0, T0 + 3 * DAY)) == 23


bar_day = st.integers(0, 40)
writes = st.lists(
    st.tuples(st.sampled_from(["AAA", "BBB"]), st.sampled_from(["1m", "5m"]),
              st.lists(st.tuples(bar_day, st.integers(0, 5)), min_size=1, max_size=8)),
    min_size=1, max_size=2,
)
reads = st.lists(st.tuples(st.integers(-2, 45), st.integers(0, 12)), min_size=1, max_size=3)
_shared: dict[int, BarStore] = {}
_example = iter(range(10**9))


@pytest.fixture(scope="module")
def shared_stores():
    """One in-memory store per read-ahead setting for the whole module (a file's commits
    cost an fsync each); each example uses symbols of its own, so examples cannot see each
    other's bars."""
    for readahead in (0, 3 * DAY, 32 * DAY):
        _shared[readahead] = BarStore(":memory:", readahead_ns=readahead)
    yield _shared
    for s in _shared.values():
        s.close()
    _shared.clear()


@given(writes=writes, reads=reads, readahead=st.sampled_from([0, 3 * DAY, 32 * DAY]))
def test_reads_match_a_plain_reference(shared_stores, writes, reads, readahead):
    """Random writes (the values of the bar at day d, minute m are a pure function of its
    stamp, so re-writes never conflict) then random day ranges: every read equals a filter
    over what was written, whatever the read-ahead."""
    s = shared_stores[readahead]
    tag = f"X{next(_example)}"
    truth: dict[tuple[str, str], dict[int, tuple]] = {}
    for sym, iv, stamps in writes:
        ts = sorted({T0 + d * DAY + m * Interval.parse(iv).ns for d, m in stamps})
        vals = [(t % 997 + 1.0, t % 997 + 2.0, t % 997 + 0.5, t % 997 + 1.5, float(t % 13))
                for t in ts]
        s.write(tag + sym, iv, Bars.from_arrays(ts, *zip(*vals, strict=True)))
        truth.setdefault((tag + sym, iv), {}).update(zip(ts, vals, strict=True))
        for first, days in reads:
            lo, hi = T0 + first * DAY, T0 + (first + days) * DAY
            for key, rows in truth.items():
                got = s.read(*key, lo, hi)
                want = sorted((t, *v) for t, v in rows.items() if lo <= t < hi)
                assert [(int(t), *map(float, v)) for t, *v in zip(*got, strict=True)] == want


def test_missing_store_reads_empty_and_creates_nothing(tmp_path):
    path = tmp_path / "home" / "bars.duckdb"
    with BarStore(path, read_only=True) as s:
        assert s.summary() == [] and s.symbols() == []
        assert len(s.read("SPY", "1m", 0, 2**62)) == 0
    with BarStore(path) as s:  # writable but nothing written yet
        assert s.checksum() == BarStore(path, read_only=True).checksum()
    assert not path.parent.exists()
    with BarStore(path) as s:
        s.write("SPY", "1m", make_bars([T0]))
    assert path.exists()


def test_read_only_store_refuses_writes(tmp_path):
    with BarStore(tmp_path / "s.duckdb") as s:
        s.write("SPY", "1m", make_bars([T0]))
    with BarStore(tmp_path / "s.duckdb", read_only=True) as s:
        with pytest.raises(DataError, match="read-only"):
            s.write("SPY", "1m", make_bars([T0 + MIN]))
        assert s.count() == 1


def test_not_a_store(tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataError) as info:
        BarStore(junk, read_only=True)
    assert str(info.value) == f"{junk} is not a valid mismartera store (not a DuckDB database file)"
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t (x INTEGER)")
    con.close()
    with pytest.raises(DataError, match="not a mismartera store"):
        BarStore(other, read_only=True)


def test_unsorted_or_invalid_write_is_a_programming_error(store):
    with pytest.raises(ValueError, match="strictly increasing"):
        store.write("SPY", "1m", make_bars([T0 + MIN, T0]))
    assert store.write("SPY", "1m", Bars.empty()) == WriteResult(0, 0, 0)
    bad = make_bars([T0, T0 + MIN])
    high = bad.high.copy()
    high[1] = bad.low[1] - 1
    with pytest.raises(ValueError, match="bar 1 is not"):
        store.write("SPY", "1m", Bars(bad.ts, bad.open, high, bad.low, bad.close, bad.volume))
    assert store.count() == 0


def test_default_store_path(monkeypatch, tmp_path):
    monkeypatch.setenv("MISMARTERA_HOME", str(tmp_path / "h"))
    assert default_store_path() == tmp_path / "h" / "bars.duckdb"
    monkeypatch.delenv("MISMARTERA_HOME")
    assert default_store_path() == Path("~/.mismartera/bars.duckdb").expanduser()


def test_bench_store_smoke(tmp_path):
    script = Path(__file__).resolve().parents[2] / "bench" / "bench_store.py"
    out = subprocess.run(
        [sys.executable, str(script), "--n", "20000", "--days", "20", "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "rows/s" in out.stdout and "pandas" in out.stdout
