"""The HTML report: its embedded numbers equal the exports', `backtest --report` and
`mismartera report` agree, large series are cut to whole recent days, bad input is one
sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mismartera.report import build_model, read_exports
from tests.report.browser import data_of

ARGS = ["demo", "--quiet", "--end", "2011-01-12", "--strategy", "sma_cross:fast=10,slow=30@5m"]


def cli(args):
    from mismartera.plugin_manager import PluginManager
    from mismartera.testing import PluginHarness

    result = PluginHarness(PluginManager(load_entry_points=False)).invoke(args)
    return result


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> dict[str, Path]:
    """The demo (with a strategy) exported per day, its `--report`, and the report built
    afterwards from the export directory."""
    tmp = tmp_path_factory.mktemp("report-demo")
    result = cli([*ARGS, "--export-dir", str(tmp / "exp"), "--report", str(tmp / "run.html")])
    assert result.exit_code == 0, result.output
    result = cli(["report", str(tmp / "exp"), "-o", str(tmp / "later.html")])
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp / 'later.html'}" in result.output
    return {"exp": tmp / "exp", "run": tmp / "run.html", "later": tmp / "later.html"}


def short(v):
    return float(f"{v:.8g}") if isinstance(v, float) else v


def exports(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("????-??-??.json"))]


def test_quality_and_gaps_equal_the_exports(demo_run):
    model = data_of(demo_run["later"])
    docs = exports(demo_run["exp"])
    assert [s["date"] for s in model["sessions"]] == [d["session"]["date"] for d in docs]
    quality = {(q["date"], q["symbol"], q["interval"]): q for q in model["quality"]}
    gaps = 0
    for doc in docs:
        date = doc["session"]["date"]
        for symbol, sdoc in doc["symbols"].items():
            for name, block in sdoc["bars"].items():
                q = quality[date, symbol, name]
                assert q["quality"] == block["quality"]
                assert q["gap_count"] == block["gaps"]["gap_count"]
                assert q["missing_bars"] == block["gaps"]["missing_bars"]
                assert q["bars"] == len(block["data"])
                got = [g for g in model["gaps"]
                       if (g["date"], g["symbol"], g["interval"]) == (date, symbol, name)]
                assert [g["bar_count"] for g in got] == [
                    r["bar_count"] for r in block["gaps"]["ranges"]]
                gaps += len(got)
    assert gaps == len(model["gaps"]) == sum(model["gap_counts"].values())
    assert len(quality) == len(model["quality"])


def test_bars_indicators_and_summary_equal_the_exports(demo_run):
    model = data_of(demo_run["later"])
    docs = exports(demo_run["exp"])
    for name, series in model["symbols"]["SPY"]["intervals"].items():
        rows = [r for d in docs for r in d["symbols"]["SPY"]["bars"][name]["data"]]
        assert not series["truncated"] and series["total_bars"] == len(rows)
        assert series["close"] == [r[4] for r in rows]
        assert series["ts"] == [r[0][:19] for r in rows]  # local wall time, offset dropped
        for key, values in series["indicators"].items():
            assert values == [short(v) for d in docs  # 8 significant digits
                              for v in d["symbols"]["SPY"]["bars"][name]["indicators"][key]]
    assert set(model["symbols"]["SPY"]["intervals"]["1m"]["indicators"]) >= {"rsi_14_1m"}
    last = docs[-1]
    summary = model["summary"]
    assert summary["days"] == len(docs) == last["metrics"]["trading_days"]
    assert summary["bars_stored"] == last["metrics"]["bars_processed"]
    assert summary["bars_rejected"] == sum(last["rejected"].values())


def test_strategy_stats_and_trades_equal_the_export(demo_run):
    model = data_of(demo_run["later"])
    doc = exports(demo_run["exp"])[-1]["strategy"]
    strategy = model["strategy"]
    assert strategy["stats"] == doc["stats"]
    assert len(strategy["trades"]) == len(doc["trades"]) > 0
    assert [t["pnl"] for t in strategy["trades"]] == [t["pnl"] for t in doc["trades"]]
    assert strategy["equity"]["equity"][-1] == doc["equity"]["data"][-1][1]
    assert min(strategy["equity"]["drawdown"]) <= 0.0
    page = demo_run["later"].read_text()
    assert "sma_cross" in page and 'id="stats-table"' in page and 'id="trades-table"' in page


def test_backtest_report_equals_the_report_built_from_exports(demo_run):
    during, later = data_of(demo_run["run"]), data_of(demo_run["later"])
    assert during["summary"].pop("bars_read") > 0  # only a live run knows what the source read
    assert later["summary"].pop("bars_read") is None
    assert during == later


def test_long_series_keep_their_most_recent_whole_days(demo_run):
    model = build_model(read_exports(demo_run["exp"]), max_points=800)
    one = model["symbols"]["SPY"]["intervals"]["1m"]
    assert one["truncated"] and one["total_bars"] > 800
    assert len(one["ts"]) == 780  # the last two days of 390 bars
    assert one["first_day"] == model["sessions"][-2]["date"]
    assert one["ts"][0].startswith(one["first_day"])
    hour = model["symbols"]["SPY"]["intervals"]["1h"]
    assert not hour["truncated"] and len(hour["ts"]) == hour["total_bars"]


def test_one_json_export_is_a_run_of_one_day(demo_run, tmp_path):
    day = sorted(demo_run["exp"].glob("????-??-??.json"))[-1]
    result = cli(["report", str(day), "-o", str(tmp_path / "one.html")])
    assert result.exit_code == 0, result.output
    model = data_of(tmp_path / "one.html")
    assert model["summary"]["days"] == 1 and model["sessions"][0]["date"] == day.stem


@pytest.mark.parametrize("content, words", [
    (None, "no such export directory or JSON file"),
    ("{not json", "not a readable JSON export"),
    ('{"schema": "x"}', "not a mismartera export"),
])
def test_bad_input_is_one_sentence(tmp_path, content, words):
    run = tmp_path / "run.json"
    if content is not None:
        run.write_text(content)
    result = cli(["report", str(run), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


def test_an_empty_directory_is_an_error(tmp_path):
    result = cli(["report", str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "no daily export" in result.output


def test_a_delta_export_is_refused(demo_run, tmp_path):
    doc = exports(demo_run["exp"])[0]
    doc["delta"] = True
    (tmp_path / "d.json").write_text(json.dumps(doc))
    result = cli(["report", str(tmp_path / "d.json"), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "a delta export" in result.output


def test_several_runs_compare_side_by_side(demo_run, tmp_path):
    other = tmp_path / "other"
    result = cli(["demo", "--quiet", "--end", "2011-01-12", "--strategy",
                  "sma_cross:fast=5,slow=20@5m", "--export-dir", str(other)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "compare.html"
    result = cli(["report", str(demo_run["exp"]), str(other), "-o", str(out)])
    assert result.exit_code == 0, result.output
    model = data_of(out)
    assert model["schema"] == "mismartera.compare/1"
    assert [r["name"] for r in model["runs"]] == ["exp", "other"]
    for run, folder in zip(model["runs"], (demo_run["exp"], other), strict=True):
        docs = exports(folder)
        last = docs[-1]
        assert run["strategy"]["stats"] == last["strategy"]["stats"]
        assert run["strategy"]["params"] == last["strategy"]["params"]
        assert run["strategy"]["trades"] == len(last["strategy"]["trades"])
        assert run["strategy"]["equity"]["equity"][-1] == last["strategy"]["equity"]["data"][-1][1]
        assert run["summary"]["days"] == len(docs)
        q = run["quality"]["SPY"]
        base = [d["symbols"]["SPY"]["bars"]["1m"] for d in docs]
        assert q["days"] == len(docs) and q["interval"] == "1m"
        assert q["gap_count"] == sum(b["gaps"]["gap_count"] for b in base)
        assert q["missing_bars"] == sum(b["gaps"]["missing_bars"] for b in base)
        assert q["min_quality"] == min(b["quality"] for b in base)
    assert model["runs"][0]["strategy"]["params"] != model["runs"][1]["strategy"]["params"]
    page = out.read_text()
    assert 'id="stats-table"' in page and 'id="chart-equity"' in page
    assert page.count('class="quality-table"') == 2
