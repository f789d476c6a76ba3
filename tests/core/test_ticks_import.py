"""Trades and quotes: read from CSV and Parquet, checked row by row, stored and read back."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from mismartera.cli import cli
from mismartera.errors import DataError
from mismartera.importer import read_ticks
from mismartera.store import BarStore
from mismartera.ticks import TickSeries
from tests.support.ticks import NY, quotes, trades, write_csv, write_parquet


@pytest.mark.parametrize("writer", [write_csv, write_parquet])
def test_trades_read_as_written(tmp_path, writer):
    frame = trades()
    got = read_ticks(writer(frame, tmp_path / f"t.{'csv' if writer is write_csv else 'parquet'}"),
                     "ticks", NY)
    assert got.kind == "ticks"
    np.testing.assert_array_equal(got.ts, frame["ts"].to_numpy())
    np.testing.assert_array_equal(got.values["price"], frame["price"].to_numpy())
    np.testing.assert_array_equal(got.values["size"], frame["size"].to_numpy())
    assert (np.diff(got.ts) == 0).any()  # equal stamps are allowed


@pytest.mark.parametrize("writer", [write_csv, write_parquet])
def test_quotes_read_as_written(tmp_path, writer):
    frame = quotes()
    got = read_ticks(writer(frame, tmp_path / f"q.{'csv' if writer is write_csv else 'parquet'}"),
                     "quotes", NY)
    for c in ("bid", "bid_size", "ask", "ask_size"):
        np.testing.assert_array_equal(got.values[c], frame[c].to_numpy())
    first = got.records()[0]
    assert first == (int(frame["ts"][0]), frame["bid"][0], frame["ask"][0],
                     frame["bid_size"][0], frame["ask_size"][0])


@pytest.mark.parametrize(("kind", "lines", "message"), [
    ("ticks", ["2024-01-03 09:30:00,100,1", "2024-01-03 09:30:01,0,1"],
     "t.csv:3: price 0.0 is not above zero"),
    ("ticks", ["2024-01-03 09:30:00,100,-1"], "t.csv:2: size -1.0 is negative"),
    ("ticks", ["2024-01-03 09:30:01,100,1", "2024-01-03 09:30:00,100,1"],
     "t.csv:3: timestamp 2024-01-03 09:30:00 is before the previous row's"),
    ("ticks", ["2024-01-03 09:30:00,abc,1"], "t.csv:2: 'abc' is not a number in column 'price'"),
    ("quotes", ["2024-01-03 09:30:00,10.1,1,10.0,1"], "t.csv:2: bid 10.1 is above ask 10.0"),
    ("quotes", ["2024-01-03 09:30:00,10,-5,10.1,1"], "t.csv:2: bid_size -5.0 is negative"),
])
def test_bad_rows_are_named_by_line(tmp_path, kind, lines, message):
    header = "timestamp,price,size" if kind == "ticks" else "timestamp,bid,bid_size,ask,ask_size"
    path = tmp_path / "t.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    with pytest.raises(DataError) as err:
        read_ticks(path, kind, NY)
    assert message in str(err.value)


def test_missing_column_names_the_kinds_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("timestamp,price\n2024-01-03 09:30:00,1\n")
    with pytest.raises(DataError, match="column 'size' missing: expected timestamp"):
        read_ticks(path, "ticks", NY)


def test_store_round_trip_and_idempotence():
    frame = trades()
    series = TickSeries("ticks", frame["ts"], {"price": frame["price"], "size": frame["size"]})
    with BarStore(":memory:") as store:
        assert store.write_ticks("AAPL", series) == (len(series), 0, 0)
        assert store.write_ticks("AAPL", series) == (0, len(series), 0)
        assert store.read_ticks("AAPL", "ticks", 0, 2**62) == series
        mid = int(series.ts[50])
        assert store.read_ticks("AAPL", "ticks", mid, 2**62) == series.between(mid, 2**62)
        assert len(store.read_ticks("AAPL", "quotes", 0, 2**62)) == 0
        changed = TickSeries("ticks", series.ts, {"price": series.values["price"] + 1,
                                                  "size": series.values["size"]})
        with pytest.raises(DataError, match="use --replace"):
            store.write_ticks("AAPL", changed)
        assert store.read_ticks("AAPL", "ticks", 0, 2**62) == series
        assert store.write_ticks("AAPL", changed, replace=True).replaced == len(series)
        assert store.read_ticks("AAPL", "ticks", 0, 2**62) == changed
        assert store.tick_summary("ticks") == [
            ("AAPL", int(series.ts[0]), int(series.ts[-1]), len(series))]


def test_cli_import_is_all_or_nothing(tmp_path):
    store = tmp_path / "s.duckdb"
    good = write_csv(quotes(), tmp_path / "q.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,bid,bid_size,ask,ask_size\n2024-01-04 09:30:00,2,1,1,1\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["data", "import", str(good), str(bad), "--symbol", "SPY",
                                 "--kind", "quotes", "--store", str(store)])
    assert result.exit_code == 2
    assert "bad.csv:2: bid 2.0 is above ask 1.0" in result.output
    result = runner.invoke(cli, ["data", "import", str(good), "--symbol", "SPY",
                                 "--kind", "quotes", "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "SPY quotes: 100 read from 1 file" in result.output
    with BarStore(store, read_only=True) as s:
        assert len(s.read_ticks("SPY", "quotes", 0, 2**62)) == 100
        assert s.count() == 0
