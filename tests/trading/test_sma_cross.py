"""`sma_cross` in a whole session: its trades equal the reference simulation
(tests/reference/sma_cross.py) and backtesting.py's and backtrader's (bench/_peers.py, with
the fill settings aligned there) bar for bar, on the bundled sample data and on the real
files of ../shared/data.

Every case is checked to have no bar where the exact fast and slow SMAs are within
rounding of each other (`ties`): there, float implementations may each see their own cross
(e.g. `sample` SPY with fast=10, slow=30 has one such bar, 5/20 four).
"""

from __future__ import annotations

import json
import shutil

import pytest

from mismartera.errors import ConfigError
from mismartera.session.run import run_backtest
from tests.reference.sma_cross import simulate, ties
from tests.support.bench import load_bench
from tests.support.data import require_data
from tests.support.trading import (
    as_tuples,
    derived_bars,
    engine_trades,
    strategy_config,
    strategy_plugins,
)

PARAMS = [(8, 21), (20, 60)]
QTY = 10
SAMPLE = {"source": "sample"}
REAL = [  # files, symbols, first and last session
    (["SPY_2011-01.csv"], ["SPY"], "2011-01-03", "2011-01-31"),
    # 2014-11-27 holiday, 2014-11-28 closes at 13:00 (after-hours bars in the files)
    (["SPY_2014-11.csv", "AAPL_2014-11.csv"], ["SPY", "AAPL"], "2014-11-19", "2014-12-03"),
    # one vendor drop-out a day in each (389 of 390 bars)
    (["AAPL_2021-08.csv", "MSFT_2021-08.csv", "TSLA_2021-08.csv"], ["AAPL", "MSFT", "TSLA"],
     "2021-08-23", "2021-08-25"),
]


@pytest.fixture(scope="module")
def peers():
    return load_bench("_peers")


def rounded(trades) -> list[tuple]:
    return [(a, round(b, 9), c, None if d is None else round(d, 9), float(e))
            for a, b, c, d, e in trades]


def check(source_options, symbols, start, end, fast, slow, peers) -> int:
    """Run the session and compare every symbol's trades; the number of trades."""
    manager = strategy_plugins()
    params = {"fast": fast, "slow": slow, "qty": QTY}
    result = run_backtest(strategy_config(source_options, symbols, start, end, "sma_cross",
                                          "5m", params), plugins=manager).strategy
    assert result.errors == []
    source = manager.make_source(source_options["source"],
                                 {k: v for k, v in source_options.items() if k != "source"},
                                 exchange="XNYS")
    count = 0
    for symbol in symbols:
        bars = derived_bars(source, symbol, start, end)
        assert ties(bars["close"], fast, slow) == []
        want = as_tuples(simulate(bars["ts"], bars["open"], bars["close"], fast, slow, QTY))
        got = engine_trades(result, symbol)
        assert got == want, symbol
        assert as_tuples(peers.run_backtesting(bars, fast, slow, QTY)[0]) == want, symbol
        # backtrader's executed price is value / size, an ulp or so off the open
        assert rounded(peers.run_backtrader(bars, fast, slow, QTY)[0]) == rounded(want), symbol
        count += len(want)
    return count


@pytest.mark.parametrize(("fast", "slow"), PARAMS)
def test_sample_spy_equals_the_reference_and_the_peers(fast, slow, peers):
    n = check(SAMPLE, ["SPY"], "2011-01-03", "2011-01-31", fast, slow, peers)
    assert n == {(8, 21): 41, (20, 60): 13}[(fast, slow)]


@pytest.mark.parametrize(("fast", "slow"), PARAMS)
@pytest.mark.parametrize(("files", "symbols", "start", "end"), REAL,
                         ids=["spy-2011-01", "early-close-2014-11", "gaps-2021-08"])
def test_real_files_equal_the_reference_and_the_peers(files, symbols, start, end, fast, slow,
                                                      peers, tmp_path):
    data = require_data() / "minute"
    for name in files:  # only these: other months would seed the SMAs with their bars
        shutil.copy(data / name, tmp_path / name)
    assert check({"source": "csv", "path": str(tmp_path)}, symbols, start, end, fast, slow,
                 peers) > 0


def test_prices_are_the_next_bar_open_and_the_export_has_the_trades(tmp_path):
    """The JSON `strategy` section (CONTRACT.md) holds the trades, each entry and exit at
    the open of the 5m bar after its signal."""
    out = tmp_path / "out.json"
    config = strategy_config(SAMPLE, ["SPY"], "2011-01-03", "2011-01-31", "sma_cross", "5m",
                             {"fast": 20, "slow": 60, "qty": 10}, export={"path": str(out)})
    config["broker"] = {"cash": 100000}
    run_backtest(config, plugins=strategy_plugins())
    section = json.loads(out.read_text())["strategy"]
    assert section["name"] == "sma_cross"
    assert section["params"] == {"fast": 20, "slow": 60, "qty": 10}
    assert section["cash_start"] == 100000.0
    source = strategy_plugins().make_source("sample", {}, exchange="XNYS")
    bars = derived_bars(source, "SPY", "2011-01-03", "2011-01-31")
    want = simulate(bars["ts"], bars["open"], bars["close"], 20, 60, 10)
    assert len(section["trades"]) == len(want) == 13
    for row, ref in zip(section["trades"], want, strict=True):
        assert (row["symbol"], row["side"], row["qty"]) == ("SPY", "long", 10.0)
        assert (row["entry_price"], row["exit_price"]) == (ref.entry_price, ref.exit_price)
        if ref.exit_price is not None:
            pnl = (ref.exit_price - ref.entry_price) * 10
            assert row["pnl"] == pytest.approx(pnl, abs=1e-9)
        assert row["entry_ts"].endswith("-05:00")  # New York time, the bar's start
    closed = sum((t.exit_price - t.entry_price) * 10 for t in want if t.exit_price is not None)
    last_open = [t for t in want if t.exit_price is None]
    mark = float(bars["close"][-1])
    expected = 100000.0 + closed + sum((mark - t.entry_price) * 10 for t in last_open)
    assert section["equity_end"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("params", "message"), [
    ({"fast": 30, "slow": 10}, "slow must be > fast, got fast=30 and slow=10"),
    ({"fast": 0}, "fast must be >= 1, got 0"),
    ({"qty": 0}, "qty must be > 0, got 0"),
])
def test_bad_parameters_stop_the_run_with_one_line(params, message):
    config = strategy_config(SAMPLE, ["SPY"], "2011-01-03", "2011-01-04", "sma_cross", "5m",
                             params)
    with pytest.raises(ConfigError, match=message):
        run_backtest(config, plugins=strategy_plugins())


def test_declares_its_interval_and_indicators():
    from mismartera.plugins.strategies.sma_cross import SmaCross

    assert SmaCross().indicators() == ("sma:period=10@5m", "sma:period=30@5m")
    assert SmaCross("15m", fast=3, slow=9).intervals == ("15m",)
    assert SmaCross("15m", fast=3, slow=9).indicators() == ("sma:period=3@15m",
                                                            "sma:period=9@15m")
