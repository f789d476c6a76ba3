"""The shell's `report FILE`: the HTML report of the session it runs, whose numbers are the
session's snapshot (as `export FILE` writes it)."""

from __future__ import annotations

import json

from tests.report.browser import data_of
from tests.report.test_report import short
from tests.support.shell import Shell, write_session


def test_report_writes_the_sessions_page(tmp_path):
    shell = Shell()
    ok, _, err = shell.run(f"report {tmp_path / 'early.html'}")
    assert not ok and "session" in err  # nothing to report before a session starts
    path = write_session(tmp_path, symbols=("SYN0", "SYN1"))
    assert shell.run(f"system start {path}")[0]
    assert shell.run("system wait")[0]
    ok, out, _ = shell.run(f"report {tmp_path / 'r.html'}")
    assert ok and f"wrote {tmp_path / 'r.html'}: the report of session 2014-12-02" in out
    assert shell.run(f"export {tmp_path / 's.json'}")[0]
    model = data_of(tmp_path / "r.html")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert model["summary"]["symbols"] == sorted(doc["symbols"]) == ["SYN0", "SYN1"]
    assert [s["date"] for s in model["sessions"]] == [doc["session"]["date"]]
    assert model["summary"]["bars_stored"] == doc["metrics"]["bars_processed"]
    assert model["summary"]["bars_read"] > 0
    for symbol, sdoc in doc["symbols"].items():
        for name, block in sdoc["bars"].items():
            series = model["symbols"][symbol]["intervals"][name]
            assert series["close"] == [short(r[4]) for r in block["data"]]  # 8 digits
    ok, _, err = shell.run("report")
    assert not ok and "usage: report FILE" in err
