"""`mismartera shell` with a session held mid-day: adding and removing symbols, export, stop."""

from __future__ import annotations

import json

import pytest

from mismartera.export import snapshot
from mismartera.session.coordinator import SessionCoordinator
from mismartera.shell.runner import STOPPED
from tests.support.engine import CALENDAR, dumps, plugins
from tests.support.shell import DAY, Gate, Shell, write_session

OPEN = CALENDAR.local_ns(DAY, 9, 30)
MINUTE = 60 * 10**9


def delivered_bars(symbol: str, now_ns: int):
    """The 1m bars of `symbol` closed by `now_ns` on DAY, straight from the source."""
    source = plugins().get("source", "synthetic").obj(seed=7, count=2, gap_rate=0.02,
                                                      extended_hours=True, exchange="XNYS")
    from mismartera.intervals import Interval

    bars = source.bars(symbol, Interval.parse("1m"), OPEN, now_ns)
    keep = (bars.ts >= OPEN) & (bars.ts + MINUTE <= now_ns)
    return bars.take(keep)


def test_add_symbol_mid_session_then_export_has_history_and_quality(gated):
    shell, gate, tmp = gated
    ok, out, err = shell.run(f"system start {write_session(tmp)}")
    assert ok and err == "" and "started backtest XNYS 2014-12-01..2014-12-02" in out
    t1 = gate.wait()

    ok, out, _ = shell.run("data session")
    assert ok and "SYN0 — base 1m, loaded, 2 historical days (2014-11-26..2014-11-28)" in out
    assert "SYN1" not in out
    assert f"session 2014-12-01 (active), clock {CALENDAR.to_local(t1):%H:%M:%S} EST" in out

    ok, out, err = shell.run("data add-symbol syn1")
    assert ok and err == ""
    assert "SYN1: requested; it will be added at the next clock step" in out
    assert "not applied yet" in out  # the clock is held, so it cannot have been applied
    assert shell.app.run.coordinator.session_data.symbols() == ["SYN0"]

    gate.release()
    t2 = gate.wait()  # pending operations are applied before the clock moves on
    ok, out, err = shell.run("system status")
    assert ok and err == ""
    now = delivered_bars("SYN1", t2)  # the confirmation tells the symbol's state now
    assert (f"SYN1 added: 2 historical days; 1m: {len(now.ts)} bars up to "
            f"{CALENDAR.to_local(int(now.ts[-1])):%H:%M}, quality") in out
    assert "SYN0, SYN1" in out and "running" in out
    assert f"{CALENDAR.to_local(t2):%Y-%m-%d %H:%M:%S}" in out

    ok, out, _ = shell.run("data session SYN1")
    assert ok and "SYN1 — base 1m, loaded, 2 historical days" in out and "SYN0 —" not in out

    target = tmp / "out" / "mid.json"
    ok, out, _ = shell.run(f"export {target}")
    assert ok and f"wrote {target}: session 2014-12-01 (active), 2 symbols" in out
    doc = json.loads(target.read_text())
    syn1 = doc["symbols"]["SYN1"]
    assert syn1["is_loaded"] is True
    assert syn1["historical"]["days"] == [d.isoformat() for d in
                                          CALENDAR.trading_days_before(DAY, 2)]
    assert set(syn1["historical"]["quality"]) == {"1m", "5m", "15m", "1h"}
    want = delivered_bars("SYN1", t2)
    rows = syn1["bars"]["1m"]["data"]
    assert [r[0] for r in rows] == CALENDAR.format_many(want.ts)
    assert [r[4] for r in rows] == want.close.tolist()
    expected_buckets = (t2 - OPEN) // MINUTE
    assert syn1["bars"]["1m"]["quality"] == round(100 * len(want.ts) / expected_buckets, 2)
    assert syn1["bars"]["1m"]["gaps"]["missing_bars"] == expected_buckets - len(want.ts)

    ok, out, _ = shell.run("data remove-symbol SYN1")
    assert ok and "it will be removed at the next clock step" in out
    gate.release()
    ok, out, err = shell.run("system stop")
    assert ok and err == ""
    assert "session stopped at 2014-12-01" in out and "1 of 2 trading days" in out
    run = shell.app.run
    assert run.state == STOPPED and not run.thread.is_alive()
    assert not run.coordinator.session_data.active  # the day ended cleanly
    assert run.coordinator.session_data.symbols() == ["SYN0"]
    ok, out, _ = shell.run("system status")
    assert ok and "stopped" in out and "ended" in out


def test_the_shell_export_equals_a_plain_engine_run(tmp_path):
    shell = Shell()
    path = write_session(tmp_path, symbols=("SYN0", "SYN1"))
    assert shell.run(f"system start {path}")[0]
    assert shell.run("system wait")[0]  # the outcome is said once, when it is known
    assert shell.out.getvalue().count("session finished: 2 of 2 trading days") == 1
    assert shell.run(f"export {tmp_path / 'shell.json'}")[0]
    got = json.loads((tmp_path / "shell.json").read_text())
    from mismartera.config import SessionConfig

    coordinator = SessionCoordinator(SessionConfig.from_toml(path), plugins=plugins())
    coordinator.run()
    want, _ = snapshot(coordinator.session_data, coordinator.calendar)
    assert dumps(got) == dumps(json.loads(json.dumps(want)))
    ok, out, _ = shell.run("system status")
    assert ok and "finished" in out and "mismartera-session: ended" in out
    assert "DataProcessor, IndicatorManager, DataQualityManager" in out


def test_demo_runs_without_a_file():
    shell = Shell()
    ok, out, err = shell.run("system start --end 2011-01-04")
    assert ok and err == "" and "2011-01-03..2011-01-04: SPY (1m, 5m, 15m, 30m, 1h)" in out
    assert shell.run("system wait 60")[0]
    assert "session finished: 2 of 2 trading days, 780 bars" in shell.out.getvalue()  # 390 a day
    ok, out, _ = shell.run("data session")
    assert ok and "SPY — base 1m, loaded" in out
    assert "│ 1m       │ stream │  390 │    15:59 │" in out
    assert "│ 1h       │ 1m     │    7 │    15:30 │" in out  # the last hour is truncated


def test_interrupt_stops_a_running_session(gated):
    shell, gate, tmp = gated
    assert shell.run(f"system start {write_session(tmp)}")[0]
    gate.wait()
    gate.release(10)
    shell.app.interrupt()
    out = shell.out.getvalue()
    assert "interrupted: stopping the session" in out and "session stopped at" in out
    assert shell.app.run.state == STOPPED and not shell.app.running


def test_quit_stops_a_running_session_first(gated):
    shell, gate, tmp = gated
    assert shell.run(f"system start {write_session(tmp)}")[0]
    gate.wait()
    gate.release(10)
    ok, out, _ = shell.run("quit")
    assert ok and shell.app.should_exit
    assert "stopping the running session" in out and "session stopped at" in out
    assert shell.app.run.state == STOPPED and not shell.app.run.thread.is_alive()


INDICATORS_TOML = """
[[indicators]]
name = "sma"
interval = "5m"
params = { period = 3 }

[[historical_indicators]]
name = "trailing_avg"
field = "volume"
period = "2d"
granularity = "daily"
"""


def test_added_symbol_gets_indicators(tmp_path):
    from mismartera.plugin_manager import PluginManager
    from tests.support.engine import with_builtin_indicators

    gate = Gate(CALENDAR.local_ns(DAY, 10, 0), CALENDAR.local_ns(DAY, 11, 0))
    shell = Shell(observers=[gate], confirm_timeout=0.05)
    shell.app.plugins = with_builtin_indicators(PluginManager(load_entry_points=False))
    path = write_session(tmp_path)
    path.write_text(path.read_text() + INDICATORS_TOML)
    try:
        ok, _, err = shell.run(f"system start {path}")
        assert ok, err
        gate.wait()
        assert shell.run("data add-symbol SYN1")[0]
        gate.release()
        now = gate.wait()
        ok, out, _ = shell.run("data session SYN1")
        assert ok and "SYN1 — base 1m, loaded" in out
        assert shell.run(f"export {tmp_path / 'ind.json'}")[0]
    finally:
        gate.release(10)
        shell.app.close()
    doc = json.loads((tmp_path / "ind.json").read_text())["symbols"]["SYN1"]
    closes = [row[4] for row in doc["bars"]["5m"]["data"]]
    assert CALENDAR.parse_ts(doc["bars"]["5m"]["data"][-1][0]) + 5 * MINUTE <= now
    sma = doc["indicators"]["sma_3_5m"]
    assert sma["ready"] is True and sma["value"] == pytest.approx(sum(closes[-3:]) / 3)
    assert f"sma_3_5m                      {sma['value']:,.4f} (ready)" in out
    # the trailing average of the two historical days' volume, from the source itself
    source = plugins().get("source", "synthetic").obj(seed=7, count=2, gap_rate=0.02,
                                                      extended_hours=True, exchange="XNYS")
    from mismartera.intervals import Interval

    volumes = []
    for day in CALENDAR.trading_days_before(DAY, 2):
        open_ns, close_ns = CALENDAR.session(day)
        bars = source.bars("SYN1", Interval.parse("1m"), open_ns, close_ns)
        volumes.append(float(bars.volume.sum()))
    trailing = doc["historical"]["indicators"]["trailing_avg_volume_2d_daily"]
    assert trailing["value"] == pytest.approx(sum(volumes) / 2)
    assert f"trailing_avg_volume_2d_daily  {trailing['value']:,.4f}" in out
