"""The `gap` and `volume_surge` scanners on real minute data, and the docs' example."""

from __future__ import annotations

import datetime
import itertools
import re
import shutil
import types
from pathlib import Path

import pytest

from mismartera.plugins.scanners import gap
from mismartera.session.scanner import parse_params
from tests.support.engine import dumps
from tests.support.scanners import (
    AUG,
    MIN,
    config,
    context,
    ns,
    read_rows,
    regular,
    run,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "scanners.md"
NOV = [datetime.date(2014, 11, d) for d in (19, 20, 21, 24, 25, 26, 28)] + [
    datetime.date(2014, 12, d) for d in (1, 2, 3)]


@pytest.fixture(scope="module")
def nov(shared_data, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("nov2014")
    for sym in ("SPY", "AAPL"):
        shutil.copy(shared_data / "minute" / f"{sym}_2014-11.csv", folder / f"{sym}_2014-11.csv")
    return folder


# --- gap on real data ---------------------------------------------------------------------


def expected_gaps(files: dict[str, Path], days, threshold: float) -> dict:
    """{day: {symbol: move %}} of the symbols whose first regular bar's open moved beyond
    `threshold` percent from the last regular bar's close of the day before (the previous
    day in the files, which are consecutive sessions), read with the csv module."""
    out: dict = {d: {} for d in days}
    for sym, path in files.items():
        rows = read_rows(path)
        for prev, day in itertools.pairwise(days):
            before, today = regular(rows, prev), regular(rows, day)
            if before and today:
                close, first = before[-1][2], today[0][1]
                move = (first - close) / close * 100
                if abs(move) > threshold:
                    out[day][sym] = move
    return out


def test_gap_adds_the_expected_symbols_on_real_data(shared_data, harness, aug, aug_full):
    files = {s: shared_data / "minute" / f"{s}_2021-08.csv" for s in ("AAPL", "MSFT", "TSLA")}
    want = expected_gaps(files, AUG, 0.5)
    assert want == {AUG[0]: {}, AUG[1]: {"TSLA": pytest.approx(0.637, abs=1e-3)},
                    AUG[2]: {"MSFT": pytest.approx(0.558, abs=1e-3)}}
    scanners = [{"name": "gap", "params": {"threshold": 0.5}, "at": ["09:31"]}]
    _, docs, log = run(harness, config(aug, ["AAPL"], AUG[0], AUG[-1], scanners))
    assert log == [("add", sym, ns(day, 9, 31)) for day in AUG for sym in sorted(want[day])
                   if sym != "AAPL"]
    assert sorted(docs[AUG[1]]["symbols"]) == ["AAPL", "TSLA"]
    assert sorted(docs[AUG[2]]["symbols"]) == ["AAPL", "MSFT", "TSLA"]
    # an added symbol's record equals that of a run that had it from the start
    for day, syms in ((AUG[1], ["AAPL", "TSLA"]), (AUG[2], ["AAPL", "MSFT", "TSLA"])):
        for sym in syms:
            got, full = docs[day]["symbols"][sym], aug_full[day]["symbols"][sym]
            assert got["bars"]["1m"]["data"] and got["historical"]["days"]
            assert dumps(got) == dumps(full)
    # deterministic: the same run again gives byte-identical exports
    _, again, _ = run(harness, config(aug, ["AAPL"], AUG[0], AUG[-1], scanners))
    assert [dumps(again[d]) for d in AUG] == [dumps(docs[d]) for d in AUG]


def test_gap_removes_symbols_that_no_longer_qualify_across_an_early_close(shared_data, harness,
                                                                           nov):
    """SPY gaps beyond 0.3% on 11-20, 11-21 and 12-01 — the last one against the 13:00 close
    of the 11-28 early close, not the after-hours bars that follow it in the file."""
    spy = shared_data / "minute" / "SPY_2014-11.csv"
    want = expected_gaps({"SPY": spy}, NOV, 0.3)
    assert {d for d, hit in want.items() if hit} == {datetime.date(2014, 11, 20),
                                                     datetime.date(2014, 11, 21),
                                                     datetime.date(2014, 12, 1)}
    rows = read_rows(spy)  # the last row of 11-28 is after the close and would not qualify
    last = [r for r in rows if r[0].date() == datetime.date(2014, 11, 28)][-1]
    assert abs((regular(rows, datetime.date(2014, 12, 1))[0][1] - last[2]) / last[2]) < 0.003
    scanners = [{"name": "gap", "params": {"threshold": 0.3, "remove": True},
                 "at": ["09:31"], "universe": ["SPY"]}]
    _, docs, log = run(harness, config(nov, ["AAPL"], NOV[0], NOV[-1], scanners))
    expected, present = [], False
    for day in NOV[1:]:
        if bool(want[day]) != present:
            present = not present
            expected.append(("add" if present else "remove", "SPY", ns(day, 9, 31)))
    assert log == expected
    assert [d for d in NOV if "SPY" in docs[d]["symbols"]] == [
        datetime.date(2014, 11, 20), datetime.date(2014, 11, 21), datetime.date(2014, 12, 1)]
    assert all("AAPL" in docs[d]["symbols"] for d in NOV)  # configured symbols stay


def test_gap_before_the_open_uses_the_last_pre_market_price_on_real_data(shared_data, tmp_path):
    """SPY_2011-01 has pre-market bars: at the open, the last one's close vs the previous
    regular close; without pre-market bars there is no verdict."""
    shutil.copy(shared_data / "minute" / "SPY_2011-01.csv", tmp_path / "SPY_2011-01.csv")
    from mismartera.plugins.sources.csv import CsvSource

    source = CsvSource(path=str(tmp_path))
    rows = read_rows(tmp_path / "SPY_2011-01.csv")
    days = sorted({r[0].date() for r in rows})
    hits = 0
    for prev, day in itertools.pairwise(days):
        open_ns = ns(day, 9, 30)
        pre = [r for r in rows if r[0].date() == day and r[0].time() < datetime.time(9, 30)]
        close = regular(rows, prev)[-1][2]
        move = (pre[-1][2] - close) / close * 100
        scanner = gap.GapScanner(**parse_params("gap", gap.GapScanner.params,
                                                {"threshold": 0.25}))
        scanner.setup(day)
        ctx = context(source, day, open_ns, ["SPY"])
        result = scanner.scan(ctx)
        assert result.add == (("SPY",) if abs(move) > 0.25 else ())
        hits += bool(result.add)
        # a minute later the first session bar has not closed: still the pre-market price
        assert scanner.scan(context(source, day, open_ns + MIN - 1, ["SPY"])).add == result.add
    assert 0 < hits < len(days) - 1


# --- volume_surge on real data -------------------------------------------------------------


def surge_reference(files, day, now, window, factor):
    """(judged, qualifying) at `now` on `day`, from the CSV files: window volume of today vs
    factor x the mean over the earlier days in the files (all inside the lookback, all full
    sessions)."""
    judged, hits = [], []
    open_ns = ns(day, 9, 30)
    end = (now - open_ns) // MIN
    start = max(0, end - window)
    for sym, path in files.items():
        rows = read_rows(path)
        trailing = [d for d in AUG if d < day]
        if not trailing or end <= start:
            continue

        def volume(d, rows=rows):
            o = ns(d, 9, 30)
            return sum(v for t, _, _, v in regular(rows, d)
                       if start <= (ns(d, t.hour, t.minute) - o) // MIN < end)

        avg = sum(volume(d) for d in trailing) / len(trailing)
        judged.append(sym)
        if volume(day) > factor * avg:
            hits.append(sym)
    return judged, hits


@pytest.mark.parametrize("remove", [False, True])
def test_volume_surge_adds_the_expected_symbols_on_real_data(shared_data, harness, aug, aug_full,
                                                             remove):
    files = {s: shared_data / "minute" / f"{s}_2021-08.csv" for s in ("AAPL", "MSFT", "TSLA")}
    scanners = [{"name": "volume_surge", "every": "15m",
                 "params": {"factor": 2.0, "window": 15, "remove": remove}}]
    _, docs, log = run(harness, config(aug, ["AAPL"], AUG[0], AUG[-1], scanners))
    expected, present, added = [], {"AAPL"}, set()
    for day in AUG:
        for k in range(1, 26):
            now = ns(day, 9, 30) + k * 15 * MIN
            judged, hits = surge_reference(files, day, now, 15, 2.0)
            if remove:
                for sym in sorted(added):
                    if sym in judged and sym not in hits:
                        expected.append(("remove", sym, now))
                        present.discard(sym)
                        added.discard(sym)
            for sym in hits:
                if sym not in present:
                    expected.append(("add", sym, now))
                    present.add(sym)
                    added.add(sym)
    assert [e for e in expected if e[0] == "add"][:2] == [("add", "MSFT", ns(AUG[2], 13, 30)),
                                                         ("add", "TSLA", ns(AUG[2], 13, 45))]
    assert (len(expected) > 2) == remove
    def order(event):  # at one time: removals, then additions
        return event[2], event[0] == "add", event[1]

    assert sorted(log, key=order) == sorted(expected, key=order)
    if not remove:
        for sym in ("MSFT", "TSLA"):
            assert dumps(docs[AUG[2]]["symbols"][sym]) == dumps(aug_full[AUG[2]]["symbols"][sym])


def test_the_scanner_doc_example_runs(shared_data, harness, aug):
    text = DOC.read_text()
    code = re.search(r"## Writing a scanner.*?```python\n(.*?)```", text, re.S)
    assert code
    module = types.ModuleType("scanner_doc_example")
    exec(compile(code.group(1), "docs/scanners.md", "exec"), module.__dict__)
    harness.register(module, name="doc-example")
    scanners = [{"name": "high_volume_open", "params": {"min_volume": 1_000_000},
                 "at": ["09:31"]}]
    _, docs, log = run(harness, config(aug, ["MSFT"], AUG[0], AUG[-1], scanners))
    assert sorted(docs[AUG[-1]]["symbols"]) == ["AAPL", "MSFT"]
    rows = {s: read_rows(shared_data / "minute" / f"{s}_2021-08.csv") for s in ("AAPL", "TSLA")}
    firsts = {s: [regular(rows[s], d)[0][3] for d in AUG] for s in ("AAPL", "TSLA")}
    assert firsts["AAPL"][0] > 1_000_000 > max(firsts["TSLA"])
    assert log == [("add", "AAPL", ns(AUG[0], 9, 31))]
