"""`run_backtest` returns the whole run (`RunResult`): bars, indicators, quality and gaps of
every day as columns, spilled to Parquet past a size, the last day's SessionData behind it."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from mismartera.session.run import run_backtest
from tests.support import scanners

SAMPLE = {
    "session": {"start": "2011-01-03", "end": "2011-01-07"},
    "data": {"source": "sample"},
    "symbols": {"list": ["SPY"]},
    "streams": {"intervals": ["1m", "5m"]},
    "indicators": [{"name": "sma", "interval": "5m", "params": {"period": 20}},
                   {"name": "ema", "interval": "1m", "params": {"period": 10}}],
}


def _run(**kwargs):
    days = {}

    def on_day_end(coord, day):  # the coordinator's own bars of each day, as a reference
        days[day] = {n: iv.bars() for n, iv in coord.session_data["SPY"].stream_bars().items()}

    return run_backtest(SAMPLE, on_day_end=on_day_end, **kwargs), days


def test_bars_span_every_day_of_the_run():
    result, days = _run()
    assert result.days == [datetime.date(2011, 1, d) for d in (3, 4, 5, 6, 7)]
    for interval in ("1m", "5m"):
        got = result.bars("SPY", interval)
        want = [days[d][interval] for d in result.days]
        np.testing.assert_array_equal(got["ts"].astype(np.int64),
                                      np.concatenate([b.ts for b in want]))
        for name in ("open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(got[name],
                                          np.concatenate([getattr(b, name) for b in want]))
    assert result.bars("SPY", "1m").rows == 5 * 390
    assert result.bars("spy").rows == 5 * 390  # the smallest stream by default
    assert got["ts"].dtype == np.dtype("datetime64[ns]")


def test_indicators_are_the_values_beside_each_bar_across_days():
    result, _ = _run()
    closes = result.bars("SPY", "5m")["close"]
    sma = result.indicators("SPY", "5m")["sma_20_5m"]
    assert len(sma) == len(closes) == 5 * 78
    # the sample has nothing before the run (no seed) and the state carries across
    # sessions: a plain rolling mean over the run's bars
    want = np.convolve(closes, np.ones(20) / 20, mode="valid")
    assert np.isnan(sma[:19]).all()
    np.testing.assert_allclose(sma[19:], want, rtol=1e-12)
    ema = result.indicators("SPY", "1m")["ema_10_1m"]
    assert list(result.indicators("SPY", "1m")) == ["ts", "ema_10_1m"]
    # the last value is what the last day's SessionData shows
    assert ema[-1] == pytest.approx(result["SPY"].indicators["ema_10_1m"].value[0])


def test_quality_and_gaps_per_day():
    result, _ = _run()
    q = result.quality()
    assert list(q["interval"]) == ["1m", "5m"] * 5
    assert (q["quality"] == 100.0).all() and (q["gap_count"] == 0).all()
    assert list(q["bars"]) == [390, 78] * 5
    assert result.gaps().rows == 0
    frame = q.to_pandas(index=None)
    assert list(frame.columns) == ["date", "symbol", "interval", "quality", "bars",
                                   "gap_count", "missing_bars"]


def test_spilled_columns_read_back_the_same_and_go_with_close():
    held, _ = _run(spill_bytes=None)
    spilled, _ = _run(spill_bytes=0)
    assert held.spilled == [] and len(spilled.spilled) == 10  # 2 intervals x 5 days
    for interval in ("1m", "5m"):
        for a, b in ((held.bars("SPY", interval), spilled.bars("SPY", interval)),
                     (held.indicators("SPY", interval), spilled.indicators("SPY", interval))):
            assert list(a) == list(b)
            for name in a:
                np.testing.assert_array_equal(a[name], b[name])
    files = spilled.spilled
    assert all(f.is_file() for f in files)
    spilled.close()
    assert not any(f.exists() for f in files)


def test_the_last_day_is_still_reachable():
    result, _ = _run()
    assert result.date == datetime.date(2011, 1, 7)
    assert len(result["SPY"].bars["5m"].data) == 78
    assert "SPY" in result and len(result) == 1 and [s.symbol for s in result] == ["SPY"]
    assert result.strategy is None and result.metrics.trading_days == 5
    frame = result.bars("SPY", "5m").to_pandas(tz="America/New_York")
    assert str(frame.index[0]) == "2011-01-03 09:30:00-05:00"


def test_real_gaps_and_quality_match_the_daily_exports(aug, aug_full):
    result = run_backtest(scanners.config(aug, ["AAPL", "MSFT", "TSLA"], scanners.AUG[0],
                                          scanners.AUG[-1]), plugins=scanners.plugins())
    gaps = result.gaps(interval="1m")
    want = [(day, sym, g["start"], g["end"], g["bar_count"])
            for day, doc in sorted(aug_full.items())
            for sym, s in doc["symbols"].items() for g in s["bars"]["1m"]["gaps"]["ranges"]]
    assert len(want) == 9  # one vendor drop-out per symbol and day
    fmt = scanners.CALENDAR.format_ts
    got = [(d.astype(object), s, fmt(int(a.astype(np.int64))), fmt(int(b.astype(np.int64))),
            int(c)) for d, s, a, b, c in zip(gaps["date"], gaps["symbol"], gaps["start"],
                                             gaps["end"], gaps["bar_count"], strict=True)]
    assert got == want
    q = result.quality("MSFT", "1m")
    assert q["quality"] == pytest.approx([100 * 389 / 390] * 3)
    for day, doc in aug_full.items():
        for sym, s in doc["symbols"].items():
            for interval, block in s["bars"].items():
                rows = [b for b in result.bars(sym, interval)["ts"]
                        if b.astype("datetime64[D]").astype(object) == day]
                assert len(rows) == len(block["data"]), (day, sym, interval)
