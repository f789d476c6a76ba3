"""Any set of symbols: `[symbols] list = "all"` / `--symbols all` (every symbol the source has
that builds the streams), and an empty list filled by scanners."""

from __future__ import annotations

import numpy as np
import pytest

from mismartera.config import SessionConfig
from mismartera.errors import ConfigError
from mismartera.session.run import run_backtest
from tests.support import scanners


def _sample(intervals, symbols="all", start="2011-01-03", end="2011-01-04"):
    return {"session": {"start": start, "end": end}, "data": {"source": "sample"},
            "symbols": {"list": symbols}, "streams": {"intervals": intervals}}


def test_all_is_every_symbol_whose_data_builds_the_streams():
    # the sample has SPY minute bars and AAPL, MSFT daily bars
    minute = run_backtest(_sample(["1m", "5m"]))
    assert minute.symbols() == ["SPY"]
    assert minute.bars("SPY", "1m").rows == 2 * 390
    daily = run_backtest(_sample(["1d"], start="2012-01-03", end="2012-01-05"))
    assert daily.symbols() == ["AAPL", "MSFT", "SPY"]
    explicit = run_backtest(_sample(["1d"], ["AAPL", "MSFT"], "2012-01-03", "2012-01-05"))
    for sym in ("AAPL", "MSFT"):
        got, want = daily.bars(sym, "1d"), explicit.bars(sym, "1d")
        assert got.rows == 3
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])


def test_all_in_the_file_and_on_the_command_line():
    config = SessionConfig.from_dict(_sample(["1m"]))
    assert config.all_symbols and config.symbols == ()
    assert config.to_dict()["symbols"] == {"list": "all"}
    assert SessionConfig.from_dict(config.to_dict()) == config
    listed = SessionConfig.from_dict(_sample(["1m"], ["SPY"]))
    assert listed.with_overrides(symbols="all").all_symbols
    back = config.with_overrides(symbols="SPY,ALL")  # upper-case ALL is a ticker
    assert back.symbols == ("SPY", "ALL") and not back.all_symbols
    assert SessionConfig(symbols="all").all_symbols  # from Python too


def test_all_with_nothing_that_builds_the_streams_names_the_key():
    with pytest.raises(ConfigError, match=r'\[symbols\] list: "all" found no symbol in '
                                          r"source 'sample' with data that builds 1s"):
        run_backtest(_sample(["1s"]))


def test_an_empty_list_needs_a_scanner():
    with pytest.raises(ConfigError, match=r"expected at least one symbol, e\.g\. AAPL, \"all\""):
        SessionConfig.from_dict(_sample(["1m"], [])).validate()


def test_an_empty_list_with_a_scanner_starts_and_the_scanner_fills_it(aug):
    gap = {"name": "gap", "params": {"threshold": 0.0}, "at": ["09:31"]}
    days = scanners.AUG
    result = run_backtest(scanners.config(aug, [], days[0], days[-1], [gap]),
                          plugins=scanners.plugins())
    full = run_backtest(scanners.config(aug, ["AAPL", "MSFT", "TSLA"], days[0], days[-1]),
                        plugins=scanners.plugins())
    q = result.quality(interval="1m")
    # day one has no previous close to gap from (nothing before it): an empty session; then
    # all three, in the order the scanner added them
    assert [(str(d), s) for d, s in zip(q["date"], q["symbol"], strict=True)] == [
        (str(d), s) for d in days[1:] for s in ("TSLA", "AAPL", "MSFT")]
    assert set(q["bars"]) == {389}
    for sym in ("AAPL", "MSFT", "TSLA"):  # added at 09:31, caught up as if there all along
        for interval in ("1m", "5m", "15m"):
            got, want = result.bars(sym, interval), full.bars(sym, interval)
            keep = want["ts"] >= got["ts"][0]
            for name in got:
                np.testing.assert_array_equal(got[name], want[name][keep])
