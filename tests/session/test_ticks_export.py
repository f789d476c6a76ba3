"""Trades and quotes in exports (JSON: count and last record; Parquet: the series) and in the
shell's `data session`."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
from rich.console import Console

from mismartera.config import SessionConfig
from mismartera.export import snapshot, write_export
from mismartera.session.coordinator import SessionCoordinator
from mismartera.shell.render import symbol_table
from mismartera.shell.views import session_view
from tests.support.engine import plugins
from tests.support.ticks import iso, quotes, tick_store, trades


def _run(tmp_path, **streams):
    store = tick_store(tmp_path / "s.duckdb")
    config = SessionConfig.from_dict({
        "session": {"start": "2024-01-03", "end": "2024-01-03"},
        "data": {"source": "store", "store": str(store)},
        "symbols": {"list": ["AAPL"]},
        "streams": {"intervals": ["1m"], **streams},
    }, origin="test")
    coordinator = SessionCoordinator(config, plugins=plugins())
    coordinator.run()
    return coordinator


def test_json_carries_counts_and_the_last_record(tmp_path):
    c = _run(tmp_path, ticks=True, quotes=True)
    doc, _ = snapshot(c.session_data, c.calendar)
    out = tmp_path / "day.json"
    write_export(out, doc, c.plugins)
    text = out.read_text()
    got = json.loads(text)["symbols"]["AAPL"]
    t, q = trades(), quotes()
    assert got["ticks"] == {"count": len(t), "last": {
        "ts": iso(t["ts"].iloc[-1]), "price": float(t["price"].iloc[-1]),
        "size": float(t["size"].iloc[-1])}}
    assert got["quotes"] == {"count": len(q), "last": {
        "ts": iso(q["ts"].iloc[-1]), **{k: float(q[k].iloc[-1])
                                        for k in ("bid", "bid_size", "ask", "ask_size")}}}
    # byte-identical run to run
    (tmp_path / "again").mkdir()
    c2 = _run(tmp_path / "again", ticks=True, quotes=True)
    doc2, _ = snapshot(c2.session_data, c2.calendar)
    write_export(tmp_path / "day2.json", doc2, c2.plugins)
    assert (tmp_path / "day2.json").read_text() == text


def test_no_tick_blocks_without_streams(tmp_path):
    c = _run(tmp_path)
    doc, _ = snapshot(c.session_data, c.calendar)
    assert "ticks" not in doc["symbols"]["AAPL"] and "quotes" not in doc["symbols"]["AAPL"]


def test_parquet_carries_the_series(tmp_path):
    c = _run(tmp_path, ticks=True, quotes=True)
    doc, _ = snapshot(c.session_data, c.calendar)
    written = write_export(tmp_path / "day.parquet", doc, c.plugins)
    assert sorted(p.name for p in written) == ["day.parquet", "day.quotes.parquet",
                                               "day.ticks.parquet"]
    con = duckdb.connect()
    ticks = con.execute("SELECT symbol, epoch_ns(ts) AS ts, price, size FROM read_parquet(?)",
                        [str(tmp_path / "day.ticks.parquet")]).df()
    t = trades()
    assert (ticks["symbol"] == "AAPL").all()
    np.testing.assert_array_equal(ticks["ts"].to_numpy(), t["ts"].to_numpy())
    pd.testing.assert_frame_equal(ticks[["price", "size"]], t[["price", "size"]])
    got = con.execute("SELECT * EXCLUDE (symbol, ts) FROM read_parquet(?)",
                      [str(tmp_path / "day.quotes.parquet")]).df()
    q = quotes()
    assert list(got.columns) == ["bid", "bid_size", "ask", "ask_size"]
    pd.testing.assert_frame_equal(got, q[["bid", "bid_size", "ask", "ask_size"]])


def test_data_session_shows_them(tmp_path):
    c = _run(tmp_path, ticks=True, quotes=True)
    view = session_view(c.session_data).symbols[0]
    t, q = trades(), quotes()
    assert view.tick_count == len(t) and view.quote_count == len(q)
    console = Console(width=120, record=True)
    console.print(symbol_table(view, c.calendar))
    text = console.export_text()
    last = pd.Timestamp(int(t["ts"].iloc[-1]), tz="UTC").tz_convert("America/New_York")
    assert (f"ticks: {len(t)}, last {t['price'].iloc[-1]:,.4f} x {t['size'].iloc[-1]:g} at "
            f"{last.strftime('%H:%M:%S.%f')[:-3]}") in text
    assert f"quotes: {len(q)}, last {q['bid'].iloc[-1]:,.4f} x " in text
