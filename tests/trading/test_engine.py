"""A strategy in a running session, on the bundled real sample (SPY, January 2011): trades
equal a hand simulation over the same bars, the equity identity holds at every base bar, no
fill is outside its bar or before its order, stepping does not change anything, runs are
byte-identical, a raising strategy is isolated, data quality reaches the strategy and its
trades, and the configuration, CLI and exports carry it all."""

from __future__ import annotations

import json
import math
import types
from typing import ClassVar

import numpy as np
import pytest

from mismartera import Strategy, hookimpl
from mismartera.bars import Bars
from mismartera.calendar import TimeManager
from mismartera.config import SessionConfig
from mismartera.export import snapshot
from mismartera.intervals import Interval
from mismartera.plugin_manager import PluginManager
from mismartera.session.coordinator import SessionCoordinator

START, END = "2011-01-03", "2011-01-07"
M1 = Interval.parse("1m")
MIN = 60 * 10**9


class OpenClose(Strategy):
    """Buy `qty` at the first 5m bar of each day, flatten at the bar closing at 15:00."""

    name = "open_close"
    qty: int = 10

    def on_bar(self, ctx, symbol, interval, bar):
        if bar.ts + 5 * MIN == ctx.session_open_ns + 5 * MIN:
            ctx.buy(symbol, self.qty)
        elif bar.ts + 5 * MIN == ctx.session_close_ns - 60 * MIN:
            ctx.close_position(symbol)


class Ledger(Strategy):
    """Trades now and then on 1m bars; records (now, cash, position, equity, close)."""

    name = "ledger"
    rows: ClassVar[list] = []

    def on_bar(self, ctx, symbol, interval, bar):
        i = (bar.ts - ctx.session_open_ns) // MIN
        Ledger.rows.append((ctx.now_ns, ctx.cash, ctx.position(symbol), ctx.equity, bar.close))
        if i % 37 == 3:
            ctx.buy(symbol, 7, limit=bar.close - 0.05)
        elif i % 53 == 20:
            ctx.sell(symbol, 12)
        elif i % 61 == 40:
            ctx.buy(symbol, 5, stop=bar.high + 0.02, stop_loss=bar.low - 0.3,
                    take_profit=bar.high + 0.3)


class Raises(Strategy):
    """Buys at the first bar, raises at the third."""

    name = "raises"
    seen: int = 0

    def on_bar(self, ctx, symbol, interval, bar):
        self.seen += 1
        if self.seen == 1:
            ctx.buy(symbol, 3)
        if self.seen == 3:
            raise RuntimeError("boom")


class Quality(Strategy):
    """Buys at every 5m bar after a gap appeared; records what the context shows."""

    name = "quality"
    seen: ClassVar[list] = []

    def on_bar(self, ctx, symbol, interval, bar):
        gaps = ctx.gaps_today(symbol, "1m")
        Quality.seen.append((ctx.now_ns, ctx.quality(symbol, "1m"), gaps))
        if gaps and not ctx.pending(symbol) and ctx.position(symbol) < 30:
            ctx.buy(symbol, 10)


class Holder(Strategy):
    """Declares an indicator, records its value now and one bar back at every 5m bar."""

    name = "holder"
    seen: ClassVar[list] = []

    def indicators(self):
        return ["sma:period=3@5m"]

    def on_bar(self, ctx, symbol, interval, bar):
        Holder.seen.append((bar.ts, ctx.indicator(symbol, "sma:period=3@5m"),
                            ctx.indicator(symbol, "sma_3_5m", ago=1)))


class DropSource:
    """The sample source with some 1m bars of SPY missing."""

    name = "dropping"

    def __init__(self, inner, drop):
        self.inner, self.drop = inner, drop

    def symbols(self):
        return self.inner.symbols()

    def intervals(self, symbol):
        return self.inner.intervals(symbol)

    def bars(self, symbol, interval, start_ns, end_ns):
        b = self.inner.bars(symbol, interval, start_ns, end_ns)
        keep = ~np.isin(b.ts, np.asarray(self.drop, np.int64))
        return Bars(*(c[keep] for c in b))

    def close(self):
        pass


def manager() -> PluginManager:
    module = types.ModuleType("engine_test_strategies")

    @hookimpl
    def register_strategies(register):
        for cls in (OpenClose, Ledger, Raises, Quality, Holder):
            register(cls.name, cls)

    module.register_strategies = register_strategies
    pm = PluginManager(load_entry_points=False)
    pm.register_plugin(module, "engine-test-strategies")
    return pm


PLUGINS = manager()


def config(name, interval="5m", params=None, broker=None, **extra) -> SessionConfig:
    strategy = {"name": name, "params": params or {}}
    if interval:
        strategy["interval"] = interval
    return SessionConfig.from_dict({
        "session": {"start": extra.pop("start", START), "end": extra.pop("end", END)},
        "data": {"source": "sample"}, "symbols": {"list": ["SPY"]},
        "streams": {"intervals": ["1m"]}, "strategy": strategy, "broker": broker or {},
        **extra})


def run(cfg, observers=(), source=None):
    co = SessionCoordinator(cfg, plugins=PLUGINS, observers=observers, source=source)
    sd = co.run()
    return sd, snapshot(sd, co.calendar)[0]


def minute_bars(start=START, end=END) -> Bars:
    source = PLUGINS.make_source("sample", {}, exchange="XNYS")
    table = TimeManager("XNYS").sessions(start, end)
    return source.bars("SPY", M1, int(table.opens[0]), int(table.closes[-1]))


def test_trades_equal_a_hand_simulation():
    sd, doc = run(config("open_close", broker={"commission": "0.01/share,min=1"}))
    bars = minute_bars()
    opens = dict(zip(bars.ts.tolist(), bars.open.tolist(), strict=True))
    cal = TimeManager("XNYS")
    expected = []
    for day in cal.trading_days(START, END):
        o, c = (int(x) for x in cal.session(day))
        entry_ts, exit_ts = o + 5 * MIN, c - 60 * MIN  # the 1m bars starting at the orders
        entry, exit_ = opens[entry_ts], opens[exit_ts]
        expected.append(("SPY", "long", 10.0, entry_ts, entry, exit_ts, exit_,
                         (exit_ - entry) * 10 - 2.0, 2.0))
    got = [tuple(t[k] for k in ("symbol", "side", "qty", "entry_ts", "entry_price", "exit_ts",
                                 "exit_price", "pnl", "costs")) for t in sd.strategy.trade_dicts()]
    assert len(got) == len(expected) == 5
    for g, e in zip(got, expected, strict=True):
        assert g[:7] == e[:7] and g[7] == pytest.approx(e[7]) and g[8] == pytest.approx(e[8])
    assert sd.strategy.stats["trades"] == 5
    assert doc["strategy"]["equity_end"] == pytest.approx(100_000 + sum(e[7] for e in expected))


def test_equity_is_cash_plus_positions_at_every_base_bar_and_fills_stay_in_their_bars():
    Ledger.rows = []
    sd, _ = run(config("ledger", interval="1m", broker={"slippage_bps": 5, "commission": "0.1%"}))
    assert len(Ledger.rows) == 5 * 390 and sd.errors == []
    ts, equity, _ = sd.strategy.portfolio.equity_curve()
    curve = dict(zip(ts.tolist(), equity.tolist(), strict=True))
    for now, cash, pos, eq, close in Ledger.rows:
        assert eq == pytest.approx(cash + pos * close, abs=1e-6)
        assert curve[now] == pytest.approx(eq, abs=1e-6)
    bars = minute_bars()
    at = {int(t): i for i, t in enumerate(bars.ts)}
    filled = [o for o in sd.strategy.orders if o["filled_qty"] > 0]
    assert len(filled) > 20 and {o["type"] for o in filled} >= {"market", "limit", "stop"}
    for o in filled:
        i = at[o["closed_ns"]] if o["state"] == "filled" else None
        assert o["closed_ns"] >= o["submitted_ns"]
        if i is not None:
            assert bars.low[i] - 1e-9 <= o["avg_price"] <= bars.high[i] + 1e-9


def test_stepping_bar_by_bar_changes_nothing_and_runs_are_byte_identical():
    class EveryBar:
        def on_bar(self, ctx, symbol, interval, bar):
            pass

    cfg = config("open_close")
    _, alone = run(cfg)
    _, again = run(cfg)
    _, stepped = run(cfg, observers=[EveryBar()])
    assert json.dumps(alone, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert alone["strategy"] == stepped["strategy"]
    drop = minute_bars().ts[[30, 31, 34, 200, 389]].tolist()  # 34: a 5m bucket's last bar
    src = DropSource(PLUGINS.make_source("sample", {}, exchange="XNYS"), drop)
    _, gappy = run(config("open_close"), source=src)
    _, gappy_stepped = run(config("open_close"), observers=[EveryBar()], source=src)
    assert gappy["strategy"] == gappy_stepped["strategy"]


def test_a_raising_strategy_is_isolated(tmp_path):
    from mismartera.session.run import run_coordinator

    out = tmp_path / "run.json"
    sd = run_coordinator(SessionCoordinator(config("raises", export={"path": str(out)}),
                                            plugins=PLUGINS))
    assert sd.trading_days == 5
    errors = sd.strategy.errors
    assert len(errors) == 1 and "raised in on_bar (SPY 5m bar 2011-01-03T09:40:00-05:00)" in \
        errors[0] and "RuntimeError: boom" in errors[0]
    (trade,) = sd.strategy.trade_dicts()
    assert trade["qty"] == 3.0 and trade["exit_ts"] is None  # the position is kept
    doc = json.loads(out.read_text())
    assert doc["strategy"]["errors"] == errors
    assert doc["strategy"]["trades"][0]["exit_ts"] is None


def test_quality_reaches_the_strategy_and_its_trades():
    Quality.seen = []
    bars = minute_bars("2011-01-03", "2011-01-03")
    drop = bars.ts[[12, 13]].tolist()  # 09:42 and 09:43 missing
    src = DropSource(PLUGINS.make_source("sample", {}, exchange="XNYS"), drop)
    sd, doc = run(config("quality", start="2011-01-03", end="2011-01-03"), source=src)
    qualities = {now: (q, g) for now, q, g in Quality.seen}
    open_ns = int(bars.ts[0])
    assert qualities[open_ns + 10 * MIN] == (100.0, 0)
    q, gaps = qualities[open_ns + 15 * MIN]
    assert gaps == 2 and q == pytest.approx(100 * 13 / 15, abs=0.01)
    trades = sd.strategy.trade_dicts()
    assert trades and trades[0]["entry_ts"] == open_ns + 15 * MIN
    # the fill bar (09:45) closes at 09:46: 14 of 16 expected bars present
    assert trades[0]["entry_quality"] == pytest.approx(round(100 * 14 / 16, 2))
    assert doc["strategy"]["trades"][0]["entry_quality"] == trades[0]["entry_quality"]


def test_indicator_one_bar_back_at_the_open_is_yesterdays_last():
    Holder.seen = []
    run(config("holder", start="2011-01-03", end="2011-01-04"))
    by_ts = {ts: (now, back) for ts, now, back in Holder.seen}
    stamps = sorted(by_ts)
    day2 = [t for t in stamps if t >= stamps[78]]
    assert by_ts[day2[0]][1] == by_ts[stamps[77]][0]  # one back at the open: yesterday's last
    assert by_ts[day2[1]][1] == by_ts[day2[0]][0]
    assert math.isnan(by_ts[stamps[0]][1])


def test_json_section_and_csv_parquet_files(tmp_path):
    import duckdb

    from mismartera.session.run import run_coordinator

    base = {"commission": "0.005/share"}
    _, doc = run(config("open_close", broker=base))
    section = doc["strategy"]
    assert list(section)[:8] == ["name", "interval", "params", "cash_start", "equity_end",
                                 "trades", "orders", "stats"]
    assert section["name"] == "open_close" and section["params"] == {"qty": 10}
    trade = section["trades"][0]
    assert list(trade)[:9] == ["symbol", "side", "qty", "entry_ts", "entry_price", "exit_ts",
                               "exit_price", "pnl", "costs"]
    assert trade["entry_ts"] == "2011-01-03T09:35:00-05:00"
    assert {"total_return", "sharpe", "max_drawdown"} <= set(section["stats"])
    assert section["orders"][0]["submitted_ts"] == "2011-01-03T09:35:00-05:00"
    for suffix in (".csv", ".parquet"):
        out = tmp_path / f"day{suffix}"
        co = SessionCoordinator(config("open_close", broker=base, export={"path": str(out)}),
                                plugins=PLUGINS)
        run_coordinator(co)
        trades = tmp_path / f"day.trades{suffix}"
        equity = tmp_path / f"day.equity{suffix}"
        read = (f"read_csv('{trades}')" if suffix == ".csv" else f"'{trades}'")
        rows = duckdb.sql(f"select qty, pnl from {read}").fetchall()
        assert rows == [(10.0, pytest.approx(t["pnl"])) for t in section["trades"]]
        read = (f"read_csv('{equity}')" if suffix == ".csv" else f"'{equity}'")
        assert duckdb.sql(f"select count(*) from {read}").fetchall() == [(5 * 390,)]


def test_session_file_and_flags(tmp_path):
    from click.testing import CliRunner

    from mismartera.cli import App, cli

    session = tmp_path / "s.toml"
    session.write_text(
        f'[session]\nstart = "{START}"\nend = "{END}"\n[data]\nsource = "sample"\n'
        '[symbols]\nlist = ["SPY"]\n[strategy]\nname = "open_close"\ninterval = "5m"\n'
        'params = { qty = 4 }\n[broker]\ncash = 5000\ncommission = "1%"\nslippage_bps = 2\n'
        "volume_cap = 0.5\nborrow_rate = 0.03\nallow_short = false\n")
    cfg = SessionConfig.from_toml(session)
    assert cfg.strategy.to_spec() == "open_close:qty=4@5m"
    b = cfg.broker
    assert (b.cash, b.commission.rate, b.slippage_bps, b.volume_cap, b.borrow_rate,
            b.allow_short) == (5000.0, 0.01, 2.0, 0.5, 0.03, False)
    out = tmp_path / "o.json"

    def invoke(*args):
        return CliRunner().invoke(cli, ["backtest", str(session), "--quiet", *args],
                                  obj=App(_plugins=PLUGINS))

    result = invoke("--strategy", "open_close:qty=2@5m", "--cash", "1000", "--commission",
                    "0.01/share,min=1", "--slippage-bps", "0", "--export", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())["strategy"]
    assert doc["params"] == {"qty": 2} and doc["cash_start"] == 1000.0
    assert doc["trades"][0]["costs"] == 2.0
    for args, message in [
        (("--strategy", "open_clos"), "--strategy: unknown strategy 'open_clos' (did you mean"),
        (("--strategy", "open_close:qty=x"), "--strategy: bad parameters for strategy"),
        (("--strategy", "open_close:size=1"), "has no parameter 'size'"),
        (("--strategy", "open_close@7q"), "--strategy: bad strategy spec 'open_close@7q'"),
        (("--commission", "1/lot"), "--commission: bad commission '1/lot'"),
        (("--cash", "0"), "--cash: expected a number > 0, got '0'"),
        (("--slippage-bps", "-1"), "--slippage-bps: expected a number >= 0"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and len(result.output.strip().splitlines()) == 1
    session.write_text(session.read_text().replace("cash = 5000", "cahs = 5000"))
    result = invoke()
    assert result.exit_code == 2 and "unknown key [broker] cahs (did you mean cash?)" in \
        result.output
