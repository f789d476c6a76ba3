"""A large-ish run's report stays within what its bar budget allows: the page-wide
`max_bars` is given out coarse to fine (coarse intervals whole, the base interval its most
recent days), so the page's size is bounded by the budget, not by the run's length."""

from __future__ import annotations

import pytest

from mismartera.report import build_model, read_exports, render
from tests.report.test_report import cli

SESSION = """\
[session]
start = 2014-01-02
end = 2014-03-28
speed = 0

[data]
source = "synthetic"
seed = 3
count = 3
gap_rate = 0.001

[symbols]
list = "all"

[streams]
intervals = ["1m", "5m", "15m", "1h", "1d"]
"""
BYTES_PER_BAR = 80  # ts (22) + four prices of 8 significant digits (4 x 11) + volume, with slack
BYTES_PER_ROW = 200  # a quality row (one per day, symbol and interval) and a session


@pytest.fixture(scope="module")
def big_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report-big")
    (tmp / "s.toml").write_text(SESSION)
    result = cli(["backtest", str(tmp / "s.toml"), "--quiet", "--export-dir", str(tmp / "exp")])
    assert result.exit_code == 0, result.output
    return read_exports(tmp / "exp")


@pytest.mark.parametrize("max_bars", [20_000, 60_000])
def test_the_page_stays_within_its_bar_budget(big_run, max_bars):
    from plotly.offline import get_plotlyjs

    model = build_model(big_run, max_bars=max_bars)
    days = model["summary"]["days"]
    assert days == 60 and model["summary"]["symbols"] == ["SYN0", "SYN1", "SYN2"]
    series = {(sym, name): s for sym, v in model["symbols"].items()
              for name, s in v["intervals"].items()}
    embedded = sum(len(s["ts"]) for s in series.values())
    assert embedded <= max_bars < sum(s["total_bars"] for s in series.values())
    for (_, name), s in series.items():
        if name in ("15m", "1h", "1d"):  # the coarse intervals span the whole run
            assert not s["truncated"] and s["first_day"] == "2014-01-02"
        assert s["last_day"] == "2014-03-28"
    one = series["SYN0", "1m"]
    assert one["truncated"] and one["ts"][0].startswith(one["first_day"])
    assert one["ts"][0][11:16] == "09:30"  # whole days
    page = render(model)
    rows = len(model["quality"]) + len(model["sessions"])
    bound = len(get_plotlyjs()) + 100_000 + BYTES_PER_BAR * max_bars + BYTES_PER_ROW * rows
    assert len(page.encode()) <= bound
