"""TA-Lib (and pandas) references of the built-in indicators and a tolerance check, shared
by the indicator tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import talib

from mismartera.bars import Bars

RTOL = 1e-9


def vwap_reference(bars: Bars, sessions: np.ndarray) -> np.ndarray:
    """Cumulative typical price x volume over cumulative volume, restarting per session."""
    frame = pd.DataFrame({"pv": (bars.high + bars.low + bars.close) / 3.0 * bars.volume,
                          "v": bars.volume, "s": sessions})
    cum = frame.groupby("s")[["pv", "v"]].cumsum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cum["v"] != 0, cum["pv"] / cum["v"], np.nan)


# name -> (class, TA-Lib (or pandas) reference, params)
def talib_reference(name: str, bars: Bars, **p):
    o, h, lo, c, v = bars.open, bars.high, bars.low, bars.close, bars.volume
    field = {"open": o, "high": h, "low": lo, "close": c, "volume": v}
    if name == "sma":
        return talib.SMA(field[p.get("field", "close")], p["period"])
    if name == "ema":
        return talib.EMA(c, p["period"])
    if name == "rsi":
        return talib.RSI(c, p["period"])
    if name == "atr":
        return talib.ATR(h, lo, c, p["period"])
    if name == "stddev":
        return talib.STDDEV(c, p["period"], p.get("nbdev", 1.0))
    if name == "highest":
        return talib.MAX(h, p["period"])
    if name == "lowest":
        return talib.MIN(lo, p["period"])
    if name == "volume_sma":
        return talib.SMA(v, p["period"])
    if name == "bbands":
        upper, middle, lower = talib.BBANDS(c, p["period"], p["nbdev_up"], p["nbdev_dn"], 0)
        return {"upper": upper, "middle": middle, "lower": lower}
    if name == "macd":
        line, signal, hist = talib.MACD(c, p["fast"], p["slow"], p["signal"])
        return {"macd": line, "signal": signal, "hist": hist}
    if name == "vwap":
        return vwap_reference(bars, np.zeros(len(c), np.int64))
    raise AssertionError(name)


def assert_close(ours, theirs, scale: float) -> None:
    """Equal NaN positions; values within 1e-9 relative (of the value, or of the data's
    scale for values near zero such as MACD's histogram)."""
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs)
        for key in theirs:
            assert_close(ours[key], theirs[key], scale)
        return
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=RTOL * scale, equal_nan=True)
