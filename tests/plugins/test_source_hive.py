"""The `parquet` source on a hive-partitioned dataset (DIR/symbol=S/year=Y/<interval>.parquet)
and `mismartera data export-dataset`, which writes one from any source."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pytest
from click.testing import CliRunner

from mismartera.cli import cli
from mismartera.commands.dataset import write_dataset
from mismartera.errors import ConfigError, DataError
from mismartera.intervals import Interval
from mismartera.plugin_manager import PluginManager
from mismartera.plugins.sources.hive import HiveDataset
from mismartera.plugins.sources.parquet import ParquetSource
from mismartera.plugins.sources.sample import SampleSource
from mismartera.sources import DataSource

M1, D1 = Interval.parse("1m"), Interval.parse("1d")
ALL = (-(2**62), 2**62)
NY = ZoneInfo("America/New_York")


def ns(day: str) -> int:
    return int(np.datetime64(day, "ns").astype(np.int64))


def same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def parquet(path: Path, **options) -> DataSource:
    return PluginManager().make_source("parquet", {"path": str(path), **options},
                                       exchange="XNYS")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """The bundled sample (SPY 1m January 2011, AAPL and MSFT 1d 2012-2014) as a dataset."""
    out = tmp_path_factory.mktemp("hive") / "bars"
    r = CliRunner().invoke(cli, ["data", "export-dataset", str(out), "--source", "sample",
                                 "--start", "2011-01-01", "--end", "2014-12-31"])
    assert r.exit_code == 0, r.output
    return out


def test_export_writes_one_file_per_symbol_year_interval(dataset):
    files = sorted(str(p.relative_to(dataset)) for p in dataset.rglob("*.parquet"))
    assert files == [f"symbol={s}/year={y}/1d.parquet" for s in ("AAPL", "MSFT")
                     for y in (2012, 2013, 2014)] + ["symbol=SPY/year=2011/1m.parquet"]
    assert [p.name for p in dataset.parent.iterdir()] == ["bars"]  # no temporary folder left
    f = dataset / "symbol=SPY/year=2011/1m.parquet"
    cols = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{f}', hive_partitioning=false)")
    assert [(r[0], r[1]) for r in cols.fetchall()] == [
        ("ts", "BIGINT"), ("open", "DOUBLE"), ("high", "DOUBLE"), ("low", "DOUBLE"),
        ("close", "DOUBLE"), ("volume", "DOUBLE")]


def test_hive_dataset_serves_the_same_bars_as_its_source(dataset):
    sample, src = SampleSource(), parquet(dataset)
    assert isinstance(src, HiveDataset) and isinstance(src, DataSource)
    assert src.symbols() == sample.symbols() == ["AAPL", "MSFT", "SPY"]
    for sym in src.symbols():
        assert src.intervals(sym) == sample.intervals(sym)
        for iv in src.intervals(sym):
            assert same(src.bars(sym, iv, *ALL), sample.bars(sym, iv, *ALL))
    # a range across a year boundary, and one inside a year
    for lo, hi in (("2012-11-01", "2013-02-01"), ("2013-03-05", "2013-03-09")):
        assert same(src.bars("AAPL", D1, ns(lo), ns(hi)), sample.bars("AAPL", D1, ns(lo), ns(hi)))


def test_a_run_touches_only_its_symbols_and_years(dataset, tmp_path):
    """Every file but AAPL 2013 made unreadable: AAPL over 2013 still reads."""
    import shutil

    copy = tmp_path / "bars"
    shutil.copytree(dataset, copy)
    for f in copy.rglob("*.parquet"):
        if "symbol=AAPL/year=2013" not in f.as_posix():
            f.write_bytes(b"not parquet")
    src = parquet(copy)
    want = SampleSource().bars("AAPL", D1, ns("2013-01-02"), ns("2014-01-01"))
    assert len(want) == 252
    assert same(src.bars("AAPL", D1, ns("2013-01-02"), ns("2014-01-01")), want)
    assert src.intervals("AAPL") == [D1]  # from the file names: nothing read
    with pytest.raises(DataError, match=r"year=2012/1d\.parquet.* too small to be a Parquet"):
        src.bars("AAPL", D1, ns("2012-06-01"), ns("2012-07-01"))


def test_a_backtest_on_the_dataset_equals_one_on_the_sample(dataset, tmp_path):
    def run(data: str) -> dict:
        session = tmp_path / "s.toml"
        session.write_text(
            '[session]\nexchange = "XNYS"\nstart = 2011-01-10\nend = 2011-01-14\n'
            f'[data]\n{data}\n[symbols]\nlist = ["SPY"]\n[streams]\nintervals = ["1m", "5m"]\n'
            '[strategy]\nname = "sma_cross"\ninterval = "5m"\nparams = { fast = 3, slow = 8 }\n')
        out = tmp_path / "run.json"
        r = CliRunner().invoke(cli, ["backtest", str(session), "--quiet", "--export", str(out)])
        assert r.exit_code == 0, r.output
        return json.loads(out.read_text())

    ours = run(f'source = "parquet"\npath = "{dataset.as_posix()}"')
    theirs = run('source = "sample"')
    assert ours["strategy"]["stats"]["trades"] > 0
    assert ours["symbols"] == theirs["symbols"]
    assert ours["strategy"] == theirs["strategy"]


def test_interval_from_the_option_for_files_not_named_after_it(dataset, tmp_path):
    folder = tmp_path / "bars" / "symbol=SPY" / "year=2011"
    folder.mkdir(parents=True)
    (dataset / "symbol=SPY/year=2011/1m.parquet").rename(folder / "part-0.parquet")
    try:
        with pytest.raises(ConfigError, match=r"part-0\.parquet: name the file after its "
                                              r"interval .* option 'interval'"):
            parquet(tmp_path / "bars").intervals("SPY")
        src = parquet(tmp_path / "bars", interval="1m")
        assert same(src.bars("SPY", M1, *ALL), SampleSource().bars("SPY", M1, *ALL))
    finally:
        (folder / "part-0.parquet").rename(dataset / "symbol=SPY/year=2011/1m.parquet")


@pytest.mark.parametrize(("rows", "why"), [
    ("(10000060000000000, 1.0, 2.0, 3.0, 1.5, 1.0)", "row 2: a missing stamp, a value not"),
    ("(10000000000000000, 1.0, 2.0, 0.5, 1.5, 1.0)", "row 2: a stamp held twice"),
    ("(40000000000000000, 1.0, 2.0, 0.5, 1.5, 1.0)", "row 2: a bar outside its partition "
                                                     "year=1970"),
])
def test_bad_rows_name_the_file_and_row(tmp_path, rows, why):
    folder = tmp_path / "symbol=BAD" / "year=1970"
    folder.mkdir(parents=True)
    f = folder / "1m.parquet"
    duckdb.sql(f"COPY (SELECT * FROM (VALUES (10000000000000000, 1.0, 2.0, 0.5, 1.5, 1.0), {rows}) "
               "t(ts, open, high, low, close, volume)) TO '" + str(f) + "' (FORMAT parquet)")
    src = parquet(tmp_path, tz="UTC")
    with pytest.raises(DataError, match=rf"{folder.name}/1m\.parquet: {why}"):
        src.bars("BAD", M1, *ALL)


def test_flat_parquet_files_still_read_whole(dataset, tmp_path):
    flat = tmp_path / "SPY.parquet"
    flat.write_bytes((dataset / "symbol=SPY/year=2011/1m.parquet").read_bytes())
    src = parquet(tmp_path)
    assert isinstance(src, ParquetSource)
    assert same(src.bars("SPY", M1, *ALL), SampleSource().bars("SPY", M1, *ALL))


def test_export_is_atomic(dataset, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep").write_text("x")
    r = CliRunner().invoke(cli, ["data", "export-dataset", str(out), "--source", "sample",
                                 "--start", "2011-01-03", "--end", "2011-01-04"])
    assert r.exit_code == 2 and "give --replace" in r.output
    assert [p.name for p in out.iterdir()] == ["keep"]

    class Failing(SampleSource):
        def bars(self, symbol, interval, start_ns, end_ns):
            if symbol == "SPY":
                raise DataError("SPY: broken")
            return super().bars(symbol, interval, start_ns, end_ns)

    with pytest.raises(DataError, match="broken"):
        write_dataset(Failing(), out, ["AAPL", "SPY"], *ALL, NY, replace=True)
    assert [p.name for p in out.iterdir()] == ["keep"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left
    parts = write_dataset(SampleSource(), out, ["SPY"], ns("2011-01-03"), ns("2011-01-05"), NY,
                          replace=True)
    assert [(p.symbol, p.interval, p.year) for p in parts] == [("SPY", "1m", 2011)]
    assert [p.name for p in out.iterdir()] == ["symbol=SPY"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_export_needs_a_range_from_a_source_that_does_not_say(tmp_path):
    r = CliRunner().invoke(cli, ["data", "export-dataset", str(tmp_path / "o"),
                                 "--source", "sample"])
    assert r.exit_code == 2 and "give --start and --end" in r.output
    assert not (tmp_path / "o").exists()
