"""The `store`, `csv` and `parquet` sources: same bars for the same data, option errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest
from click.testing import CliRunner

from mismartera.bars import Bars
from mismartera.cli import cli
from mismartera.errors import ConfigError, DataError
from mismartera.intervals import Interval
from mismartera.plugin_manager import PluginManager
from mismartera.plugins.sources import csv as csv_module
from mismartera.plugins.sources import parquet as parquet_module
from mismartera.plugins.sources import store as store_module
from mismartera.plugins.sources.csv import CsvSource
from mismartera.plugins.sources.parquet import ParquetSource
from mismartera.plugins.sources.store import StoreSource
from mismartera.sources import DataSource

HERE = Path(__file__).parent  # a folder of files that are neither CSV nor Parquet
M1, D1 = Interval.parse("1m"), Interval.parse("1d")
ALL = (-(2**62), 2**62)
NS = 1_000_000_000
DAY = 86_400 * NS


def same(a: Bars, b: Bars) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def store_path(shared_data, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("src") / "bars.duckdb"
    groups: dict[str, list[str]] = {}
    for f in sorted((shared_data / "minute").glob("*.csv")):
        groups.setdefault(f.name.split("_")[0], []).append(str(f))
    for sym, files in groups.items():
        r = CliRunner().invoke(cli, ["data", "import", *files, "--symbol", sym,
                                     "--store", str(path)])
        assert r.exit_code == 0, r.output
    for f in sorted((shared_data / "daily").glob("*.csv")):
        r = CliRunner().invoke(cli, ["data", "import", str(f), "--symbol", f.name.split("_")[0],
                                     "--interval", "1d", "--store", str(path)])
        assert r.exit_code == 0, r.output
    return path


@pytest.fixture(scope="module")
def parquet_folder(shared_data, tmp_path_factory) -> Path:
    """Per-symbol Parquet files (no symbol column) converted by DuckDB from the CSVs."""
    folder = tmp_path_factory.mktemp("pq")
    con = duckdb.connect()
    for f in sorted((shared_data / "minute").glob("*.csv")):
        dest = folder / (f.stem + ".parquet")
        con.execute(f"COPY (SELECT * FROM read_csv(?)) TO '{dest}' (FORMAT parquet)", [str(f)])
    con.close()
    return folder


def test_sources_are_registered():
    pm = PluginManager(builtins=())
    for module in (store_module, csv_module, parquet_module):
        pm.register_plugin(module)
    names = pm.registered("source")
    assert {"store", "csv", "parquet"} <= set(names)
    assert names["csv"].obj is CsvSource and names["store"].obj is StoreSource
    assert names["parquet"].obj is parquet_module.parquet_source


def test_csv_source_matches_the_store(shared_data, store_path):
    store = StoreSource(store=str(store_path), exchange="XNYS")
    src = CsvSource(path=str(shared_data / "minute"), exchange="XNYS")
    assert isinstance(src, DataSource) and isinstance(store, DataSource)
    assert src.symbols() == ["AAPL", "MSFT", "SPY", "TSLA"]
    assert store.symbols() == ["AAPL", "MSFT", "SPY", "TSLA"]
    for sym in src.symbols():
        assert src.intervals(sym) == [M1]
        assert same(src.bars(sym, M1, *ALL), store.bars(sym, M1, *ALL))
    # a range inside the data (the 2014-11-28 early-close day, after-hours included)
    lo = 1_417_150_800 * NS  # 2014-11-28T00:00:00-05:00
    day = src.bars("SPY", M1, lo, lo + DAY)
    assert len(day) > 210 and same(day, store.bars("spy", M1, lo, lo + DAY))
    assert len(src.bars("SPY", D1, *ALL)) == 0 and len(src.bars("NOPE", M1, *ALL)) == 0
    assert src.intervals("NOPE") == []


def test_csv_source_daily_files(shared_data, store_path):
    src = CsvSource(path=str(shared_data / "daily"))
    store = StoreSource(store=str(store_path))
    assert src.symbols() == ["AAPL", "MSFT"]
    assert src.intervals("AAPL") == [D1]
    assert store.intervals("AAPL") == [M1, D1]
    for sym in ("AAPL", "MSFT"):
        assert same(src.bars(sym, D1, *ALL), store.bars(sym, D1, *ALL))
    explicit = CsvSource(path=str(shared_data / "daily" / "AAPL_2012-2014.csv"), interval="1d")
    assert explicit.symbols() == ["AAPL"]
    assert same(explicit.bars("AAPL", D1, *ALL), store.bars("AAPL", D1, *ALL))


def test_csv_source_mixed_intervals_and_gzip(shared_data, tmp_path, store_path):
    shutil.copy(shared_data / "daily" / "AAPL_2012-2014.csv", tmp_path / "aapl_daily.csv")
    import gzip

    raw = (shared_data / "minute" / "AAPL_2021-08.csv").read_bytes()
    (tmp_path / "AAPL_2021.csv.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "notes.txt").write_text("not a bar file")
    src = CsvSource(path=str(tmp_path))
    store = StoreSource(store=str(store_path))
    assert src.symbols() == ["AAPL"]
    assert src.intervals("AAPL") == [M1, D1]
    assert same(src.bars("AAPL", D1, *ALL), store.bars("AAPL", D1, *ALL))
    lo = 1_629_676_800 * NS  # 2021-08-23T00:00:00Z
    assert same(src.bars("AAPL", M1, *ALL), store.bars("AAPL", M1, lo, lo + 5 * DAY))


def test_csv_source_merges_a_symbols_files(shared_data, tmp_path):
    lines = (shared_data / "minute" / "TSLA_2021-08.csv").read_text().splitlines()
    (tmp_path / "TSLA_a.csv").write_text("\n".join(lines[:700]) + "\n")
    (tmp_path / "TSLA_b.csv").write_text("\n".join([lines[0], *lines[600:]]) + "\n")
    merged = CsvSource(path=str(tmp_path)).bars("TSLA", M1, *ALL)
    whole = CsvSource(path=str(shared_data / "minute")).bars("TSLA", M1, *ALL)
    assert same(merged, whole)
    fields = lines[650].split(",")
    fields[5] = "1"
    (tmp_path / "TSLA_b.csv").write_text(
        "\n".join([lines[0], *lines[600:650], ",".join(fields), *lines[651:]]) + "\n")
    with pytest.raises(DataError, match=r"TSLA 1m: .*TSLA_a\.csv and .*TSLA_b\.csv hold "
                                        r"different bars at 2021-08-"):
        CsvSource(path=str(tmp_path)).bars("TSLA", M1, *ALL)


def test_csv_source_reports_bad_files_with_their_line(tmp_path):
    (tmp_path / "BAD.csv").write_text("timestamp,open,high,low,close,volume\n"
                                      "2024-01-03 09:30,1,2,0.5,1.5,1\n"
                                      "2024-01-03 09:31,1,2,3,1.5,1\n")
    src = CsvSource(path=str(tmp_path), interval="1m")
    with pytest.raises(DataError, match=r"BAD\.csv:3: high 2\.0 is below low 3\.0"):
        src.bars("BAD", M1, *ALL)


def test_parquet_source_matches_the_store(store_path, parquet_folder):
    store = StoreSource(store=str(store_path))
    src = ParquetSource(path=str(parquet_folder))
    assert isinstance(src, DataSource)
    assert src.symbols() == ["AAPL", "MSFT", "SPY", "TSLA"]
    for sym in src.symbols():
        assert src.intervals(sym) == [M1]
        assert same(src.bars(sym, M1, *ALL), store.bars(sym, M1, *ALL))


def test_parquet_source_with_a_symbol_column(shared_data, tmp_path, store_path):
    dest = tmp_path / "all.parquet"
    parts = " UNION ALL ".join(
        f"SELECT '{f.name.split('_')[0]}' AS Symbol, epoch_ns(timestamp) AS ts, open, high, "
        f"low, close, volume FROM read_csv('{f}')"
        for f in sorted((shared_data / "minute").glob("*_2021-08.csv")))
    con = duckdb.connect()
    con.execute(f"COPY ({parts}) TO '{dest}' (FORMAT parquet)")
    con.close()
    src = ParquetSource(path=str(dest), exchange="XNYS")
    store = StoreSource(store=str(store_path))
    assert src.symbols() == ["AAPL", "MSFT", "TSLA"]
    lo = 1_629_676_800 * NS  # 2021-08-23T00:00:00Z
    for sym in src.symbols():
        assert same(src.bars(sym, M1, *ALL), store.bars(sym, M1, lo, lo + 5 * DAY))


@pytest.mark.parametrize("factory,options,message", [
    (CsvSource, {"exchange": "XNYS"}, "csv source needs option 'path'"),
    (CsvSource, {"path": "/no/such/folder"}, "csv source option 'path': /no/such/folder does "
                                             "not exist"),
    (CsvSource, {"path": str(HERE), "folder": "x"},
     "unknown csv source option 'folder': expected one of path, exchange, interval, tz"),
    (CsvSource, {"path": str(HERE), "interval": "7m"},
     "csv source option 'interval': unknown interval"),
    (CsvSource, {"path": str(HERE), "tz": "Mars/Base"}, "unknown time zone"),
    (CsvSource, {"path": ""}, "must be a non-empty string"),
    (CsvSource, {"path": str(HERE)}, "no CSV files in"),
    (ParquetSource, {"path": str(HERE)}, "no Parquet files in"),
    (ParquetSource, {"path": str(HERE), "store": "x"}, "unknown parquet source option 'store'"),
    (StoreSource, {"store": "/no/such/bars.duckdb"}, "/no/such/bars.duckdb does not exist"),
    (StoreSource, {"path": "x"}, "unknown store source option 'path': expected one of store, "
                                 "exchange"),
    (StoreSource, {"store": 3}, "store source option 'store' must be a file path"),
])
def test_option_errors_are_config_errors(factory, options, message):
    with pytest.raises(ConfigError) as info:
        factory(**options)
    assert message in str(info.value)
