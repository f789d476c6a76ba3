"""Naive stamps the clocks skip or repeat at a daylight-saving change are refused with
file:line unless a --dst policy is chosen."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from click.testing import CliRunner

from mismartera.cli import cli
from mismartera.errors import DataError
from mismartera.importer import read_bars_file

NY = ZoneInfo("America/New_York")
HEADER = "timestamp,open,high,low,close,volume\n"
# 2024-03-10 02:30 does not exist in New York; 2024-11-03 01:30 happens twice
SPRING = ["2024-03-10 01:59", "2024-03-10 02:30", "2024-03-10 03:31"]
AUTUMN = ["2024-11-03 00:59", "2024-11-03 01:30", "2024-11-03 02:30"]


def csv_file(tmp_path: Path, stamps: list[str]) -> Path:
    f = tmp_path / "bars.csv"
    f.write_text(HEADER + "".join(f"{s},1,1,1,1,1\n" for s in stamps))
    return f


def utc(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1e9, UTC).strftime("%H:%M")


@pytest.mark.parametrize(("stamps", "what"), [(SPRING, "does not exist"),
                                              (AUTUMN, "is ambiguous")])
def test_refused_by_default_with_file_and_line(tmp_path, stamps, what):
    f = csv_file(tmp_path, stamps)
    with pytest.raises(DataError) as info:
        read_bars_file(f, "1m", NY)
    assert str(info.value) == (
        f"{f}:3: timestamp {stamps[1]} {what} in America/New_York (a daylight-saving change): "
        "give its UTC offset, or choose --dst earliest or --dst latest")


@pytest.mark.parametrize(("stamps", "policy", "want"), [
    (AUTUMN, "earliest", ["04:59", "05:30", "07:30"]),  # 01:30 EDT
    (AUTUMN, "latest", ["04:59", "06:30", "07:30"]),  # 01:30 EST
    (SPRING, "latest", ["06:59", "07:30", "07:31"]),  # 02:30 read with EST: 03:30 EDT
])
def test_a_chosen_policy_picks_the_instant(tmp_path, stamps, policy, want):
    bars = read_bars_file(csv_file(tmp_path, stamps), "1m", NY, dst=policy)
    assert [utc(t) for t in bars.ts.tolist()] == want


def test_stamps_with_offsets_and_other_days_are_untouched(tmp_path):
    stamps = ["2024-11-03T01:30:00-04:00", "2024-11-03T01:30:00-05:00", "2024-11-04 09:30"]
    bars = read_bars_file(csv_file(tmp_path, stamps), "1m", NY)
    assert [utc(t) for t in bars.ts.tolist()] == ["05:30", "06:30", "14:30"]


def test_naive_parquet_timestamps_are_checked_too(tmp_path):
    f = tmp_path / "bars.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT TIMESTAMP '2024-11-03 01:30' AS timestamp, 1.0 AS open, "
                f"1.0 AS high, 1.0 AS low, 1.0 AS close, 1.0 AS volume) TO '{f}' (FORMAT parquet)")
    con.close()
    with pytest.raises(DataError, match=r"bars\.parquet: row 1: timestamp .* is ambiguous"):
        read_bars_file(f, "1m", NY)


def test_cli_dst_option(tmp_path):
    f = csv_file(tmp_path, AUTUMN)
    store = tmp_path / "bars.duckdb"
    args = ["data", "import", str(f), "--symbol", "X", "--interval", "1m", "--store", str(store)]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2 and "is ambiguous" in refused.stderr
    assert not store.exists()
    taken = CliRunner().invoke(cli, [*args, "--dst", "latest"])
    assert taken.exit_code == 0, taken.output
    assert "3 inserted" in taken.stdout
