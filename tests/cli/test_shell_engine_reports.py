"""The shell shows what the engine knows: `data session` the historical days' quality and
gaps per interval (the real 2021-08 drop-outs), `system status` a live session's gap-filling
counters (a replay of real SPY bars with withheld bars)."""

from __future__ import annotations

import io

from rich.console import Console

from mismartera.shell import ShellApp
from tests.support.live import DAY, SAMPLE, live_plugins, session


def _shell() -> tuple[ShellApp, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=220, color_system=None, highlight=False)
    return ShellApp(live_plugins(), console=console, err_console=console), out


def _row(text: str, first: str) -> list[str]:
    """The cells of the table row that starts with `first`."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│┃| ").split("│")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in\n{text}")


def test_data_session_shows_the_historical_gaps_of_the_real_dropouts(shared_data):
    data = {"source": "csv", "path": str(shared_data / "minute" / "AAPL_2021-08.csv")}
    app, out = _shell()
    app.start(session("2021-08-25", data, ["AAPL"], trailing=2))
    assert app.execute("system wait 60")
    start = len(out.getvalue())
    assert app.execute("data session")
    text = out.getvalue()[start:]
    assert "2 historical days (2021-08-23..2021-08-24)" in text
    # one vendor drop-out on each historical day (tests/integration/test_engine_reports_real.py
    # checks which minutes), and one today
    row = _row(text, "1m")
    assert row[-2:] == ["1 (1 bars)", f"{100 * 778 / 780:.2f}%, gaps 2 (2 bars)"]
    assert _row(text, "5m")[-1] == "100.00%, gaps 0"
    doc_gaps = app.run.coordinator.session_data["AAPL"].historical.gaps["1m"]
    assert [g.bar_count for g in doc_gaps] == [1, 1]


def test_system_status_shows_the_gap_filling_counters_of_a_live_session():
    live = {"withhold": ["10:00", "13:07"], "serve_withheld": False}
    app, out = _shell()
    app.start(session(DAY, SAMPLE, ["SPY"], live=live, trailing=0))
    assert app.execute("system wait 60")
    start = len(out.getvalue())
    assert app.execute("system status")
    text = out.getvalue()[start:]
    counts = app.run.coordinator.gap_fill_counts()
    retries = app.run.coordinator.gap_filler.retries
    assert counts == {"requests": 2 * retries, "filled": 0, "exhausted": 2, "late_bars": 0,
                      "refetched": 0, "dropped": 0}
    line = next(x for x in text.splitlines() if x.startswith("gap filling"))
    assert line.split(None, 2)[2].strip() == (f"requests {2 * retries}, filled 0, exhausted 2, "
                                      "late bars 0, refetched 0, dropped 0")


def test_a_backtest_status_has_no_gap_filling_row():
    app, out = _shell()
    app.start(session(DAY, SAMPLE, ["SPY"], trailing=0))
    assert app.execute("system wait 60")
    start = len(out.getvalue())
    assert app.execute("system status")
    assert "gap filling" not in out.getvalue()[start:]
