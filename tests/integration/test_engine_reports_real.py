"""What the engine knows, shown: historical gaps in the export, per-day metrics with the
session gap, the backtest summary's phase timings, and live gap-filling counters — on the
real 2021-08 minute files (each day one vendor drop-out per symbol) and a live replay of
real SPY bars with withheld bars."""

from __future__ import annotations

import csv
import datetime
import json
import shutil
from pathlib import Path

import pytest

from mismartera.config import SessionConfig
from mismartera.export import snapshot
from mismartera.session.coordinator import SessionCoordinator
from mismartera.session.live.gapfill import GapFiller
from tests.support.data import require_data
from tests.support.engine import plugins
from tests.support.live import DAY, SAMPLE, live_run, session

DATA = require_data() / "minute"
SYMBOLS = ["AAPL", "MSFT", "TSLA"]
DAYS = ["2021-08-23", "2021-08-24", "2021-08-25"]
EDT = datetime.timezone(datetime.timedelta(hours=-4))


def dropouts(symbol: str, day: str) -> list[str]:
    """The regular-session minutes of `day` the file lacks, read with the csv module."""
    d = datetime.date.fromisoformat(day)
    with (DATA / f"{symbol}_2021-08.csv").open(newline="") as fh:
        present = {datetime.datetime.fromisoformat(r["timestamp"]) for r in csv.DictReader(fh)}
    open_t = datetime.datetime.combine(d, datetime.time(9, 30), tzinfo=EDT)
    grid = [open_t + datetime.timedelta(minutes=k) for k in range(390)]
    return [t.isoformat() for t in grid if t not in present]


def config(folder: Path, trailing: int) -> SessionConfig:
    return SessionConfig.from_dict({
        "session": {"start": DAYS[0], "end": DAYS[-1]},
        "data": {"source": "csv", "path": str(folder)},
        "symbols": {"list": SYMBOLS},
        "streams": {"intervals": ["1m", "5m"]},
        "historical": {"trailing_days": trailing},
    }, origin="test")


@pytest.fixture(scope="module")
def aug_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("aug")
    for sym in SYMBOLS:
        shutil.copy(DATA / f"{sym}_2021-08.csv", folder / f"{sym}_2021-08.csv")
    docs: dict[str, dict] = {}
    timed: dict[str, dict] = {}
    coordinator = SessionCoordinator(config(folder, trailing=2), plugins=plugins())

    def on_day_end(coord, day):
        docs[day.isoformat()] = snapshot(coord.session_data, coord.calendar)[0]
        timed[day.isoformat()] = snapshot(coord.session_data, coord.calendar, timings=True)[0]

    coordinator.run(on_day_end=on_day_end)
    return folder, coordinator, docs, timed


def whole_day(day: str) -> dict:
    open_t = datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time(9, 30),
                                       tzinfo=EDT)
    last = open_t + datetime.timedelta(minutes=389)
    return {"start": open_t.isoformat(), "end": last.isoformat(), "bar_count": 390}


def test_the_dropouts_of_earlier_days_are_the_historical_gaps_of_the_next(aug_run):
    _, _, docs, _ = aug_run
    # the trailing window is the two trading days before; the files start on 08-23, so the
    # days before are all missing: one run of 390 bars each
    windows = [["2021-08-19", "2021-08-20"], ["2021-08-20", DAYS[0]], DAYS[:2]]
    for i, day in enumerate(DAYS):
        for sym in SYMBOLS:
            hist = docs[day]["symbols"][sym]["historical"]
            assert hist["days"] == windows[i]
            ranges = []
            for d in hist["days"]:
                if d in DAYS:
                    (t,) = dropouts(sym, d)  # one drop-out a day
                    ranges.append({"start": t, "end": t, "bar_count": 1})
                else:
                    ranges.append(whole_day(d))
            missing = sum(r["bar_count"] for r in ranges)
            assert hist["gaps"]["1m"] == {"gap_count": len(ranges), "missing_bars": missing,
                                          "ranges": ranges}
            assert hist["quality"]["1m"] == round(100 * (780 - missing) / 780, 2)
            # a 5m bucket that still had four bars is there; a day without bars is not
            gaps_5m = hist["gaps"]["5m"]
            assert gaps_5m["missing_bars"] == 78 * sum(d not in DAYS for d in hist["days"])
            # what was the day's gap while it ran is the next day's historical gap
            today = docs[day]["symbols"][sym]["bars"]["1m"]["gaps"]["ranges"]
            (t,) = dropouts(sym, day)
            assert today == [{"start": t, "end": t, "bar_count": 1}]
            if i:
                prev = docs[DAYS[i - 1]]["symbols"][sym]["bars"]["1m"]["gaps"]["ranges"]
                assert hist["gaps"]["1m"]["ranges"][-1:] == prev


def test_per_day_metrics_sum_to_the_run_totals_and_stay_out_of_plain_exports(aug_run):
    _, coordinator, docs, timed = aug_run
    plain = docs[DAYS[-1]]["metrics"]
    assert "days" not in plain and plain["session_gap_s"] == 0.0
    assert set(plain["timings_s"].values()) == {0.0}
    m = timed[DAYS[-1]]["metrics"]
    days = m["days"]
    assert [d["date"] for d in days] == DAYS
    # each day delivers 389 bars a symbol: the file's regular session less its drop-out
    assert [d["bars_processed"] for d in days] == [389 * 3] * 3
    assert sum(d["bars_processed"] for d in days) == m["bars_processed"] == 3 * 389 * 3
    assert sum(d["iterations"] for d in days) == m["iterations"]
    # iterations: distinct close times over the three symbols (the same minute is missing
    # in all three files, so 389 a day)
    assert [d["iterations"] for d in days] == [389] * 3
    for d in days:
        assert d["bars_derived"] == 78 * 3
        assert d["bars_read"] >= d["bars_processed"]
        assert set(d["timings_s"]) == set(m["timings_s"])
        assert all(v >= 0 for v in d["timings_s"].values())
        assert d["timings_s"]["session"] > 0
    for key, total in m["timings_s"].items():
        assert sum(d["timings_s"][key] for d in days) == pytest.approx(total, abs=1e-5)
    # the session gap: none before the first session, measured before each later one
    assert days[0]["session_gap_s"] is None
    assert all(d["session_gap_s"] > 0 for d in days[1:])
    assert m["session_gap_s"] == pytest.approx(sum(d["session_gap_s"] for d in days[1:]),
                                               abs=1e-5)
    # the days so far, in each day's own export
    assert [len(timed[day]["metrics"]["days"]) for day in DAYS] == [1, 2, 3]
    assert coordinator.metrics.days[-1].date == datetime.date(2021, 8, 25)


def test_exports_stay_byte_identical_run_to_run(aug_run):
    folder, _, docs, _ = aug_run
    again: dict[str, str] = {}
    coordinator = SessionCoordinator(config(folder, trailing=2), plugins=plugins())
    coordinator.run(on_day_end=lambda c, day: again.setdefault(
        day.isoformat(), json.dumps(snapshot(c.session_data, c.calendar)[0])))
    assert again == {day: json.dumps(doc) for day, doc in docs.items()}


def test_backtest_summary_shows_the_phase_timings_and_session_gaps(aug_run, tmp_path,
                                                                    mismartera_plugins):
    folder, _, _, _ = aug_run
    toml = tmp_path / "session.toml"
    toml.write_text(f"""
[session]
start = {DAYS[0]}
end = {DAYS[-1]}

[data]
source = "csv"
path = "{folder}"

[symbols]
list = {json.dumps(SYMBOLS)}

[streams]
intervals = ["1m", "5m"]
""")
    result = mismartera_plugins.invoke(["backtest", str(toml)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for phase in ("historical_load", "indicators", "queue_load", "session"):
        assert f"{phase} " in text
    assert "between sessions" in text


# ---------------------------------------------------------------------- live gap filling


def test_live_gap_fill_counters_of_a_replay_with_withheld_bars():
    withheld = ["09:45", "11:00", "11:01", "14:30"]
    live = {"withhold": withheld, "serve_withheld": False}
    cfg = session(DAY, SAMPLE, ["SPY"], live={**live, "late": ["12:00"], "late_by": "3m"},
                  trailing=0)
    coordinator, doc = live_run(cfg, gap_filler=GapFiller(delay_s=600, retries=2))
    # never served: two requests each (11:00 and 11:01 fall due a minute apart, so they are
    # asked for apart), then exhausted; the late 12:00 bar comes from the feed before its
    # delay is up and is inserted by a repair
    assert doc["metrics"]["gap_fill"] == {"requests": 8, "filled": 0, "exhausted": 4,
                                          "late_bars": 1, "refetched": 0, "dropped": 0}
    gaps = doc["symbols"]["SPY"]["bars"]["1m"]["gaps"]
    assert gaps["missing_bars"] == 4 and gaps["gap_count"] == 3
    assert len(coordinator.gap_filler.failed_gaps()) == 4


def test_live_gap_fill_counters_when_withheld_bars_are_served():
    withheld = ["09:30", "10:00", "10:01", "12:34", "15:59"]
    coordinator, doc = live_run(session(DAY, SAMPLE, ["SPY"], live={"withhold": withheld},
                                        trailing=0))
    assert doc["metrics"]["gap_fill"] == {"requests": 5, "filled": 5, "exhausted": 0,
                                          "late_bars": 5, "refetched": 0, "dropped": 0}
    assert coordinator.gap_fill_counts() == doc["metrics"]["gap_fill"]


def test_a_backtest_export_has_no_gap_fill_counters(aug_run):
    _, _, docs, _ = aug_run
    assert "gap_fill" not in docs[DAYS[-1]]["metrics"]
