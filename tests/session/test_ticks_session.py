"""`[streams] ticks` / `quotes` in a backtest: stored trades and quotes reach
SymbolSessionData.ticks / .quotes as the clock reaches them, never earlier."""

from __future__ import annotations

from mismartera.config import SessionConfig
from mismartera.session.coordinator import SessionCoordinator
from tests.support.engine import plugins
from tests.support.ticks import ns, quotes, tick_store, trades


def config(store, **streams) -> SessionConfig:
    return SessionConfig.from_dict({
        "session": {"start": "2024-01-03", "end": "2024-01-03"},
        "data": {"source": "store", "store": str(store)},
        "symbols": {"list": ["AAPL"]},
        "streams": {"intervals": ["1m"], **streams},
    }, origin="test")


class Seen:
    """Records, at each clock stop, how many ticks and quotes the session holds."""

    def __init__(self) -> None:
        self.at: dict[int, tuple[list, list]] = {}

    def on_clock(self, ctx, now):
        s = ctx.session_data["AAPL"]
        self.at[now] = (list(s.ticks), list(s.quotes))


def test_ticks_and_quotes_arrive_with_the_clock(tmp_path):
    store = tick_store(tmp_path / "s.duckdb")
    t, q = trades(), quotes()
    stops = [ns("2024-01-03T09:31:00"), int(t["ts"][5]), int(t["ts"][5]) - 1,
             ns("2024-01-03T09:35:00")]
    seen = Seen()
    coordinator = SessionCoordinator(config(store, ticks=True, quotes=True), plugins=plugins(),
                                     observers=[seen], stop_times=stops)
    coordinator.run()
    for stop in stops:
        ticks, quotes_seen = seen.at[stop]
        want_t = t[t["ts"] <= stop]
        want_q = q[q["ts"] <= stop]
        assert ticks == list(zip(want_t["ts"], want_t["price"], want_t["size"], strict=True))
        assert quotes_seen == list(zip(want_q["ts"], want_q["bid"], want_q["ask"],
                                       want_q["bid_size"], want_q["ask_size"], strict=True))
    # trades sharing the stamp of trade 5 arrive together (trade 4 has it too)
    assert len(seen.at[int(t["ts"][5])][0]) == 6 and len(seen.at[int(t["ts"][5]) - 1][0]) == 4
    s = coordinator.session_data["AAPL"]
    assert len(s.ticks) == len(t) and len(s.quotes) == len(q)
    assert not s.errors


def test_off_by_default_and_refused_by_a_source_without_ticks(tmp_path):
    store = tick_store(tmp_path / "s.duckdb")
    coordinator = SessionCoordinator(config(store), plugins=plugins())
    coordinator.run()
    assert coordinator.session_data["AAPL"].ticks == []
    synthetic = SessionConfig.from_dict({
        "session": {"start": "2024-01-03", "end": "2024-01-03"},
        "data": {"source": "synthetic", "seed": 1, "count": 1},
        "symbols": {"list": ["SYN0"]}, "streams": {"intervals": ["1m"], "ticks": True}},
        origin="test")
    coordinator = SessionCoordinator(synthetic, plugins=plugins())
    coordinator.run()
    assert coordinator.session_data["SYN0"].errors == [
        "SYN0: source synthetic has no ticks"]
