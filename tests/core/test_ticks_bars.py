"""Bars built from trades, against a plain pandas reference on generated trades; and a store
holding only trades as the base of a backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mismartera.config import SessionConfig
from mismartera.session.coordinator import SessionCoordinator
from mismartera.store import BarStore
from mismartera.ticks import TickSeries
from tests.support.engine import plugins
from tests.support.ticks import NS, trades


def reference(frame: pd.DataFrame, seconds: int) -> pd.DataFrame:
    """OHLCV per bucket with pandas alone; buckets without trades dropped."""
    bucket = frame["ts"] // (seconds * NS) * (seconds * NS)
    g = frame.groupby(bucket, sort=True)
    out = pd.DataFrame({"open": g["price"].first(), "high": g["price"].max(),
                        "low": g["price"].min(), "close": g["price"].last(),
                        "volume": g["size"].sum()})
    return out


def series(frame: pd.DataFrame) -> TickSeries:
    return TickSeries("ticks", frame["ts"], {"price": frame["price"], "size": frame["size"]})


@pytest.mark.parametrize("seconds", [1, 60])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bars_from_trades_match_pandas(seconds, seed):
    frame = trades(n=2000, seed=seed, span_s=3600)
    ts, o, h, lo, c, v = series(frame).to_bars(seconds * NS)
    want = reference(frame, seconds)
    np.testing.assert_array_equal(ts, want.index.to_numpy())
    for got, name in ((o, "open"), (h, "high"), (lo, "low"), (c, "close")):
        np.testing.assert_array_equal(got, want[name].to_numpy())
    np.testing.assert_allclose(v, want["volume"].to_numpy(), rtol=0, atol=1e-9)
    if seconds == 1:
        assert len(ts) < 3600  # some seconds have no trade, and no bar


def test_quotes_make_no_bars():
    with pytest.raises(ValueError, match="from trades"):
        TickSeries.empty("quotes").to_bars(NS)


def test_a_backtest_on_trades_alone(tmp_path):
    frame = trades(n=3000, seed=5, span_s=3 * 3600)
    path = tmp_path / "s.duckdb"
    with BarStore(path) as store:
        store.write_ticks("AAPL", series(frame))
    config = SessionConfig.from_dict({
        "session": {"start": "2024-01-03", "end": "2024-01-03"},
        "data": {"source": "store", "store": str(path)},
        "symbols": {"list": ["AAPL"]},
        "streams": {"intervals": ["1m", "5m"]},
    }, origin="test")
    coordinator = SessionCoordinator(config, plugins=plugins())
    coordinator.run()
    s = coordinator.session_data["AAPL"]
    assert s.base_interval.name == "1m"
    got = s.bars["1m"].data.arrays()
    want = reference(frame, 60)
    np.testing.assert_array_equal(got[0], want.index.to_numpy())
    np.testing.assert_array_equal(got[4], want["close"].to_numpy())
    five = s.bars["5m"].data.arrays()
    want5 = reference(frame, 300)
    np.testing.assert_array_equal(five[0], want5.index.to_numpy())
    np.testing.assert_array_equal(five[2], want5["high"].to_numpy())
    np.testing.assert_allclose(five[5], want5["volume"].to_numpy())
