"""The built-in `gap_fade` strategy with the `gap` scanner on the real AAPL, MSFT and TSLA
minute bars of 2021-08-23..25: the scanner adds TSLA (gap 0.637%) on 08-24 and MSFT
(0.558%) on 08-25 at 09:31, and every trade equals a hand simulation from the CSV rows,
read with the csv module: the gap from the previous regular close to the first regular open,
the side, the entry at the open of the base bar after the first bar the strategy saw, the
bracket's take-profit at the previous close and its stop `stop_pct` beyond the signal bar's
close, and the exit (stop, take-profit or the flat time before the close, whichever the bars
show first; a stop and a take-profit in one bar: the stop). Configured symbols are left
alone (`added_only`)."""

from __future__ import annotations

import csv
import datetime
import importlib
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mismartera import hookimpl
from mismartera.plugin_manager import PluginManager
from mismartera.session.run import run_backtest

NY = ZoneInfo("America/New_York")
DAYS = [datetime.date(2021, 8, 23), datetime.date(2021, 8, 24), datetime.date(2021, 8, 25)]
SYMBOLS = ("AAPL", "MSFT", "TSLA")
OPEN, CLOSE = datetime.time(9, 30), datetime.time(16, 0)
SCAN = datetime.time(9, 31)
MIN_GAP, QTY = 0.5, 100


def ns(moment: datetime.datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


def at(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return datetime.datetime.combine(day, time, tzinfo=NY)


@pytest.fixture(scope="module")
def aug(shared_data, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gap_fade_aug2021")
    for sym in SYMBOLS:
        shutil.copy(shared_data / "minute" / f"{sym}_2021-08.csv", folder / f"{sym}_2021-08.csv")
    return folder


@pytest.fixture(scope="module")
def rows(aug) -> dict[str, dict[datetime.date, list[tuple]]]:
    """{symbol: {day: [(start, open, high, low, close), ...]}} of the regular-session rows."""
    out: dict[str, dict[datetime.date, list[tuple]]] = {}
    for sym in SYMBOLS:
        with (aug / f"{sym}_2021-08.csv").open(newline="") as fh:
            days: dict[datetime.date, list[tuple]] = {}
            for r in csv.DictReader(fh):
                start = datetime.datetime.fromisoformat(r["timestamp"])
                if OPEN <= start.time() < CLOSE:
                    days.setdefault(start.date(), []).append(
                        (start, *(float(r[k]) for k in ("open", "high", "low", "close"))))
            out[sym] = days
    return out


# --- the hand simulation -----------------------------------------------------------------


def gap_pct(rows, sym: str, day: datetime.date) -> float:
    previous = rows[sym][DAYS[DAYS.index(day) - 1]][-1][4]
    return (rows[sym][day][0][1] / previous - 1) * 100


def hand_trade(rows, sym: str, day: datetime.date, joined: datetime.time, stop_pct: float,
               flat_minutes: int) -> dict | None:
    """The trade gap_fade makes on `sym` on `day`, in the session since `joined`, or None."""
    bars = rows[sym][day]
    previous = rows[sym][DAYS[DAYS.index(day) - 1]][-1][4]  # the last regular close
    opened = bars[0][1]  # the first regular open (bars caught up on included)
    flat = at(day, CLOSE) - datetime.timedelta(minutes=flat_minutes)
    # the first bar the strategy sees: the first that closes after the symbol joined
    k = next(i for i, b in enumerate(bars) if b[0] >= at(day, joined))
    signal = bars[k]
    if signal[0] + datetime.timedelta(minutes=1) >= flat:
        return None
    move = (opened / previous - 1) * 100
    step = stop_pct / 100
    if move > MIN_GAP and signal[4] > previous:
        side, stop = "short", signal[4] * (1 + step)
    elif move < -MIN_GAP and signal[4] < previous:
        side, stop = "long", signal[4] * (1 - step)
    else:
        return None
    entry = bars[k + 1]
    trade = {"symbol": sym, "side": side, "entry_ts": ns(entry[0]), "entry_price": entry[1],
             "take_profit": previous, "stop": stop}
    for start, o, h, lo, _c in bars[k + 1:]:
        if start >= flat:  # closed at the market at the open of the first bar from flat
            how, price = "flat", o
        elif side == "short" and h >= stop:
            how, price = "stop", max(o, stop)
        elif side == "long" and lo <= stop:
            how, price = "stop", min(o, stop)
        elif side == "short" and lo <= previous:
            how, price = "take_profit", min(o, previous)
        elif side == "long" and h >= previous:
            how, price = "take_profit", max(o, previous)
        else:
            continue
        sign = 1 if side == "long" else -1
        return {**trade, "exit": how, "exit_ts": ns(start), "exit_price": price,
                "pnl": sign * (price - entry[1]) * QTY}
    raise AssertionError("a gap_fade trade is closed by the session's end")


def hand_trades(rows, present: dict[str, datetime.datetime], traded: set[str], stop_pct: float,
                flat_minutes: int) -> list[dict]:
    """Every trade, for the symbols in `traded`, each in the session since `present[sym]`."""
    out = []
    for day in DAYS[1:]:
        for sym in sorted(traded):
            since = present.get(sym)
            if since is None or since.date() > day:
                continue
            joined = since.time() if since.date() == day else OPEN
            trade = hand_trade(rows, sym, day, joined, stop_pct, flat_minutes)
            if trade is not None:
                out.append(trade)
    return sorted(out, key=lambda t: (t["entry_ts"], t["symbol"]))


# --- the runs -----------------------------------------------------------------------------


class Additions:
    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []

    @hookimpl
    def symbol_added(self, session_data, symbol):
        self.log.append((symbol, session_data.now_ns))


def run(folder: Path, symbols: list[str], **params):
    plugins = PluginManager(load_entry_points=False)
    if "gap_fade" not in plugins.registered("strategy"):
        plugins.register_plugin(importlib.import_module("mismartera.plugins.strategies.builtin"))
    additions = Additions()
    plugins.register_plugin(additions, name="gap-fade-test-additions")
    config = {
        "session": {"start": str(DAYS[0]), "end": str(DAYS[-1])},
        "data": {"source": "csv", "path": str(folder)},
        "symbols": {"list": symbols},
        "streams": {"intervals": ["1m"]},
        "historical": {"trailing_days": 1},
        "scanners": [{"name": "gap", "params": {"threshold": 0.5}, "at": ["09:31"]}],
        "strategy": {"name": "gap_fade", "interval": "1m",
                     "params": {"min_gap": MIN_GAP, "qty": QTY, **params}},
        "broker": {"cash": 1_000_000.0},
    }
    result = run_backtest(config, plugins=plugins).strategy
    assert result.errors == []
    first_open = ns(at(DAYS[0], OPEN))
    added = [(s, t) for s, t in additions.log if not (t == first_open and s in symbols)]
    return result, added


def engine_trades(result) -> list[dict]:
    orders = result.orders
    out = []
    for t in result.trade_dicts():
        entry = next(o for o in orders if o["parent"] is None and o["symbol"] == t["symbol"]
                     and o["state"] == "filled" and o["closed_ns"] == t["entry_ts"])
        children = {o["type"]: o for o in orders if o["parent"] == entry["seq"]}
        exits = [o for o in orders if o["symbol"] == t["symbol"] and o["state"] == "filled"
                 and o["closed_ns"] == t["exit_ts"] and o is not entry]
        how = ("take_profit" if children["limit"]["state"] == "filled" else
               "stop" if children["stop"]["state"] == "filled" else "flat")
        assert len(exits) == 1 and (how == "flat") == (exits[0]["parent"] is None)
        out.append({"symbol": t["symbol"], "side": t["side"], "entry_ts": t["entry_ts"],
                    "entry_price": t["entry_price"], "take_profit": children["limit"]["limit"],
                    "stop": children["stop"]["stop"], "exit": how, "exit_ts": t["exit_ts"],
                    "exit_price": t["exit_price"], "pnl": pytest.approx(t["pnl"], abs=1e-6)})
    return out


def test_the_real_gaps(rows):
    """What the scanner sees (tests/integration/test_scanners_real_data.py): beyond 0.5%,
    only TSLA on 08-24 and MSFT on 08-25."""
    gaps = {(s, d): gap_pct(rows, s, d) for s in SYMBOLS for d in DAYS[1:]}
    assert {k for k, v in gaps.items() if abs(v) > MIN_GAP} == {("TSLA", DAYS[1]),
                                                                 ("MSFT", DAYS[2])}
    assert gaps["TSLA", DAYS[1]] == pytest.approx(0.637, abs=1e-3)
    assert gaps["MSFT", DAYS[2]] == pytest.approx(0.558, abs=1e-3)


@pytest.mark.parametrize(("stop_pct", "flat_minutes", "exits"), [
    (2.0, 5, ["take_profit", "take_profit"]),
    (0.05, 5, ["take_profit", "stop"]),  # MSFT stopped in its entry bar (high 304.55)
    (2.0, 380, ["take_profit", "flat"]),  # flat from 09:40
])
def test_gap_fade_fades_the_symbols_the_gap_scanner_added(aug, rows, stop_pct, flat_minutes,
                                                          exits):
    result, added = run(aug, ["AAPL"], stop_pct=stop_pct, flat_minutes=flat_minutes)
    assert added == [("TSLA", ns(at(DAYS[1], SCAN))), ("MSFT", ns(at(DAYS[2], SCAN)))]
    present = {"TSLA": at(DAYS[1], SCAN), "MSFT": at(DAYS[2], SCAN)}
    want = hand_trades(rows, present, {"TSLA", "MSFT"}, stop_pct, flat_minutes)
    assert engine_trades(result) == want
    assert [t["exit"] for t in want] == exits
    assert not [t for t in result.trade_dicts() if t["symbol"] == "AAPL"]
    assert not [o for o in result.orders if o["symbol"] == "AAPL"]
    # TSLA, spelled out: the strategy first saw the 09:31 bar (it joined at 09:31, after the
    # 09:30 bar closed); short at the 09:32 open; the take-profit at 08-23's 15:59 close,
    # reached in the entry's own bar (low 706.05)
    tsla = rows["TSLA"]
    assert tsla[DAYS[1]][0][0].time() == OPEN and tsla[DAYS[1]][1][0].time() == SCAN
    (trade,) = [t for t in want if t["symbol"] == "TSLA"]
    assert trade["side"] == "short"
    assert trade["entry_ts"] == ns(at(DAYS[1], datetime.time(9, 32)))
    assert trade["entry_price"] == tsla[DAYS[1]][2][1] == pytest.approx(708.47, abs=5e-3)
    assert trade["take_profit"] == tsla[DAYS[0]][-1][4] == pytest.approx(706.18, abs=5e-3)
    assert trade["stop"] == tsla[DAYS[1]][1][4] * (1 + stop_pct / 100)
    assert (trade["exit"], trade["exit_ts"], trade["exit_price"]) == (
        "take_profit", trade["entry_ts"], trade["take_profit"])
    # TSLA stays in the session on 08-25 (seen from the open) but gapped less: no trade
    assert abs(gap_pct(rows, "TSLA", DAYS[2])) < MIN_GAP


def test_gap_fade_leaves_the_configured_symbols_alone(aug, rows):
    """MSFT configured: it gapped 0.558% on 08-25 too, but only `added_only=False` trades
    it — from its 09:30 bar, the first the strategy saw."""
    result, added = run(aug, ["AAPL", "MSFT"])
    assert added == [("TSLA", ns(at(DAYS[1], SCAN)))]
    present = {"TSLA": at(DAYS[1], SCAN), "MSFT": at(DAYS[0], OPEN)}
    assert engine_trades(result) == hand_trades(rows, present, {"TSLA"}, 2.0, 5)
    assert {o["symbol"] for o in result.orders} == {"TSLA"}

    everyone, _ = run(aug, ["AAPL", "MSFT"], added_only=False)
    want = hand_trades(rows, present, {"AAPL", "MSFT", "TSLA"}, 2.0, 5)
    assert engine_trades(everyone) == want
    assert [(t["symbol"], t["entry_ts"]) for t in want] == [
        ("TSLA", ns(at(DAYS[1], datetime.time(9, 32)))),
        ("MSFT", ns(at(DAYS[2], datetime.time(9, 31))))]
