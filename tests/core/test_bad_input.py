"""The bad-input corpus: every malformed import gives one line on stderr naming the file
(and line), exit status 2, no traceback, and leaves the store exactly as it was."""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from mismartera.cli import cli
from mismartera.store import BarStore
from tests.support.data import require_data

HEADER = "timestamp,open,high,low,close,volume\n"


def rows(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


GOOD1 = "2024-01-03 09:30,10,11,9,10.5,100"
GOOD2 = "2024-01-03 09:31,10,11,9,10.5,100"


def text(content: str, name: str = "bad.csv") -> Callable[[Path], list[Path]]:
    def make(folder: Path) -> list[Path]:
        p = folder / name
        p.write_text(content, encoding="utf-8")
        return [p]

    return make


def raw(content: bytes, name: str = "bad.csv") -> Callable[[Path], list[Path]]:
    def make(folder: Path) -> list[Path]:
        p = folder / name
        p.write_bytes(content)
        return [p]

    return make


def parquet(select: str, name: str = "bad.parquet") -> Callable[[Path], list[Path]]:
    def make(folder: Path) -> list[Path]:
        p = folder / name
        con = duckdb.connect()
        con.execute(f"COPY (SELECT {select}) TO '{p}' (FORMAT parquet)")
        con.close()
        return [p]

    return make


def good_then_bad(folder: Path) -> list[Path]:
    good = folder / "good.csv"
    good.write_text(rows(GOOD1, GOOD2))
    bad = folder / "bad.csv"
    bad.write_text(rows("2024-01-04 09:30,10,11,9,10.5,100", "2024-01-04 09:31,10,9,11,10,1"))
    return [good, bad]


def conflicting_spy(folder: Path) -> list[Path]:
    src = (require_data() / "minute" / "SPY_2011-01.csv").read_text().splitlines()
    first = src[1].split(",")
    first[5] = str(int(first[5]) + 1)  # another volume for a stored bar
    p = folder / "SPY_changed.csv"
    p.write_text("\n".join([src[0], ",".join(first), *src[2:50]]) + "\n")
    return [p]


def folder_instead(folder: Path) -> list[Path]:
    d = folder / "adir.csv"
    d.mkdir()
    return [d]


def truncated_gzip(folder: Path) -> list[Path]:
    body = rows(*(f"2024-01-03 {9 + (30 + i) // 60:02d}:{(30 + i) % 60:02d},10,11,9,10.5,"
                  f"{i}" for i in range(300)))
    p = folder / "bad.csv.gz"
    p.write_bytes(gzip.compress(body.encode())[:-40])
    return [p]


NUMS = "10.0 AS open, 11.0 AS high, 9.0 AS low, 10.5 AS close, 100 AS volume"

# name: (files, expected line regex after "Error: <file>", extra CLI args)
CORPUS: dict[str, tuple[Callable[[Path], list[Path]], str, list[str]]] = {
    "bad number": (text(rows(GOOD1, "2024-01-03 09:31,abc,11,9,10.5,100")),
                   r":3: 'abc' is not a number in column 'open'", []),
    "comma decimal": (text(rows(GOOD1, '2024-01-03 09:31,"10,5",11,9,10.5,100')),
                      r":3: '10,5' is not a number in column 'open'", []),
    "NaN": (text(rows(GOOD1, "2024-01-03 09:31,10,NaN,9,10.5,100")),
            r":3: high nan is not a finite number", []),
    "inf": (text(rows("2024-01-03 09:30,10,inf,9,10.5,100")),
            r":2: high inf is not a finite number", []),
    "-inf": (text(rows("2024-01-03 09:30,10,11,-inf,10.5,100")),
             r":2: low -inf is not a finite number", []),
    "absurd price": (text(rows(GOOD1, "2024-01-03 09:31,1e308,1e308,9,10.5,100")),
                     r":3: open 1e\+308 is absurdly large: expected at most 1e\+15 in magnitude",
                     []),
    "absurd volume": (text(rows("2024-01-03 09:30,10,11,9,10.5,-2e15")),
                      r":2: volume -2000000000000000\.0 is absurdly large", []),
    "past 2262": (text(rows("2300-01-03 09:30,10,11,9,10.5,100", "2300-01-03 09:31,10,11,9,10,1")),
                  r":2: timestamp 2300-01-03 09:30 is out of range: expected a time from "
                  r"1677-09-22 to 2262-04-11", []),
    "before 1677": (text(rows(GOOD1, "1600-01-03 09:31,10,11,9,10.5,100")),
                    r":3: timestamp 1600-01-03 09:31 is out of range", ["--interval", "1m"]),
    "infinite stamp": (text(rows(GOOD1, "infinity,10,11,9,10.5,100")),
                       r":3: timestamp infinity is out of range", ["--interval", "1m"]),
    "parquet past 2262": (parquet(f"TIMESTAMP '2300-01-03 09:30' AS timestamp, {NUMS}"),
                          r": row 1: timestamp 2300-01-03 09:30:00 is out of range", []),
    "missing value": (text(rows(GOOD1, "2024-01-03 09:31,10,11,9,,100")),
                      r":3: missing value in column 'close'", []),
    "high < low": (text(rows("2024-01-03 09:30,10,10,11,10,100")),
                   r":2: high 10\.0 is below low 11\.0", []),
    "open > high": (text(rows("2024-01-03 09:30,12,11,9,10.5,100")),
                    r":2: open 12\.0 is above high 11\.0", []),
    "open < low": (text(rows("2024-01-03 09:30,8,11,9,10.5,100")),
                   r":2: open 8\.0 is below low 9\.0", []),
    "close > high": (text(rows("2024-01-03 09:30,10,11,9,11.5,100")),
                     r":2: close 11\.5 is above high 11\.0", []),
    "close < low": (text(rows("2024-01-03 09:30,10,11,9,8.5,100")),
                    r":2: close 8\.5 is below low 9\.0", []),
    "negative volume": (text(rows(GOOD1, GOOD2, "2024-01-03 09:32,10,11,9,10.5,-3")),
                        r":4: volume -3\.0 is negative", []),
    "out of order": (text(rows(GOOD2, GOOD1)),
                     r":3: timestamp 2024-01-03 09:30 is not after the previous row's "
                     r"\(2024-01-03T09:31:00-05:00\)", []),
    "duplicate": (text(rows(GOOD1, GOOD2, GOOD2)),
                  r":4: timestamp 2024-01-03 09:31 is not after the previous row's "
                  r"\(a duplicate\)", []),
    "misaligned": (text(rows(GOOD1, "2024-01-03 09:30:30,10,11,9,10.5,100")),
                   r":3: timestamp 2024-01-03 09:30:30 is not on the 1m grid",
                   ["--interval", "1m"]),
    "misaligned 5m": (text(rows(GOOD1, "2024-01-03 09:33,10,11,9,10.5,100")),
                      r":3: timestamp 2024-01-03 09:33 is not on the 5m grid",
                      ["--interval", "5m"]),
    "empty file": (text(""), r": file is empty", []),
    "blank file": (text("\n\n  \n"), r": file is empty", []),
    "header only": (text(HEADER), r": no data rows after the header", []),
    # (a leading control byte: random bytes starting with a newline are an empty header)
    "binary garbage": (raw(b"\x01" + os.urandom(4096) + b"\0"), r": not a CSV text file", []),
    "control bytes": (raw(bytes(range(1, 256)) * 4), r": not a CSV text file", []),
    "wrong delimiter ;": (text(HEADER.replace(",", ";") + GOOD1.replace(",", ";") + "\n"),
                          r":1: columns are separated by ';': expected ','", []),
    "wrong delimiter tab": (text(HEADER.replace(",", "\t") + GOOD1.replace(",", "\t") + "\n"),
                            r":1: columns are separated by tab: expected ','", []),
    "missing column": (text("timestamp,open,high,low,volume\n2024-01-03 09:30,10,11,9,100\n"),
                       r":1: column 'close' missing: expected timestamp\|datetime\|date", []),
    "unknown columns only": (text("a,b,c\n1,2,3\n"),
                             r":1: no known column in the header \(found 'a', 'b', 'c'\)", []),
    "no time column": (text("open,high,low,close,volume\n10,11,9,10.5,100\n"),
                       r":1: no time column: expected timestamp\|datetime\|date", []),
    "duplicate column": (text("timestamp,open,open,high,low,close,volume\n"),
                         r":1: column 'open' appears twice", []),
    "bad date": (text(rows("2024-02-30 09:30,10,11,9,10.5,100")),
                 r":2: '2024-02-30 09:30' is not a timestamp in column 'timestamp'", []),
    "bad time": (text(rows(GOOD1, "2024-01-03 09:61,10,11,9,10.5,100")),
                 r":3: '2024-01-03 09:61' is not a timestamp", []),
    "bad date+time": (text("date,time,open,high,low,close,volume\n"
                           "2024-01-03,09:30,10,11,9,10.5,100\n2024-01-03,9h31,10,11,9,10.5,100\n"),
                      r":3: '2024-01-03 9h31' is not a date and time in columns 'date' \+ "
                      r"'time'", []),
    "date only for 1m": (text("date,open,high,low,close,volume\n2024-01-03,10,11,9,10.5,100\n"),
                         r":2: '2024-01-03' has no time of day", ["--interval", "1m"]),
    "offsets going back": (text(rows("2011-03-14T09:30:00-04:00,10,11,9,10.5,100",
                                     "2011-03-14T09:31:00-03:00,10,11,9,10.5,100")),
                           r":3: timestamp 2011-03-14T09:31:00-03:00 is not after the "
                           r"previous row's", []),
    "too few fields": (text(rows(GOOD1, "2024-01-03 09:31,10,11,9,10.5")),
                       r":3: expected 6 fields as in the header, found 5", []),
    "too many fields": (text(rows(GOOD1, "2024-01-03 09:31,10,11,9,10.5,100,7")),
                        r":3: expected 6 fields as in the header, found 7", []),
    "unterminated quote": (text(rows(GOOD1, '"2024-01-03 09:31,10,11,9,10.5,100')),
                           r":3: ", []),
    "not utf-8": (raw(rows(GOOD1).encode() + b"2024-01-03 09:31,10,11,9,10.5,1\xe900\n"),
                  r":3: not UTF-8 text", []),
    "NUL in a row": (raw(rows(GOOD1).encode() + b"2024-01-03 09:31,10,11,9\x00,10.5,100\n"),
                     r":3: binary data \(a NUL byte\)", []),
    "gzip garbage": (raw(b"\x1f\x8b" + os.urandom(200), "bad.csv.gz"), r": corrupt gzip data",
                     []),
    "gzip truncated": (truncated_gzip, r": corrupt gzip data", []),
    "gzip bad row": (raw(gzip.compress(rows(GOOD1, GOOD2, GOOD1).encode()), "bad.csv.gz"),
                     r":4: timestamp 2024-01-03 09:30 is not after", []),
    "parquet wrong type": (parquet("'2024-01-03 09:30' AS timestamp, 'ten' AS open, "
                                   "11.0 AS high, 9.0 AS low, 10.5 AS close, 100 AS volume"),
                           r": column 'open' has type VARCHAR: expected a number", []),
    "parquet bool time": (parquet(f"true AS timestamp, {NUMS}"),
                          r": column 'timestamp' has type BOOLEAN: expected a timestamp", []),
    "parquet garbage": (raw(b"PAR1" + os.urandom(300), "bad.parquet"),
                        r": not a readable Parquet file", []),
    "parquet bad row": (parquet("* FROM (VALUES ('2024-01-03 09:30', 10.0, 11.0, 9.0, 10.5, 1),"
                                " ('2024-01-03 09:31', 10.0, 11.0, 9.0, 10.5, -1)) "
                                "t(timestamp, open, high, low, close, volume)"),
                        r": row 2: volume -1\.0 is negative", []),
    "daily non-session": (text("date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,1\n"
                               "2024-01-06,10,11,9,10.5,1\n"),
                          r":3: 2024-01-06 is not a trading session", ["--interval", "1d"]),
    "conflicting re-import": (conflicting_spy,
                              r": SPY 1m bar at 2011-01-03T04:00:00-05:00 is already stored "
                              r"with other values", ["--symbol", "SPY"]),
    "no such file": (lambda folder: [folder / "missing.csv"], r": no such file", []),
    "folder": (folder_instead, r": is a folder", []),
    "good then bad": (good_then_bad, r":3: high 9\.0 is below low 11\.0", []),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, str]:
    """A store already holding real bars (so an unchanged checksum means something), and
    its checksum before any bad import: every case must leave exactly that."""
    path = tmp_path_factory.mktemp("store") / "bars.duckdb"
    spy = require_data() / "minute" / "SPY_2011-01.csv"
    result = CliRunner().invoke(cli, ["data", "import", str(spy), "--symbol", "SPY",
                                      "--store", str(path)])
    assert result.exit_code == 0, result.output
    with BarStore(path, read_only=True) as s:
        assert s.count() == 14_180
        return path, s.checksum()


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_input_is_one_line_exit_2_and_store_unchanged(name, store, tmp_path):
    store_path, checksum = store
    make, expected, extra = CORPUS[name]
    files = make(tmp_path)
    args = ["data", "import", *map(str, files), "--store", str(store_path), *extra]
    if "--symbol" not in extra:
        args += ["--symbol", "XYZ"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    bad = files[-1]
    assert re.match(r"Error: " + re.escape(str(bad)) + expected, lines[0]), lines[0]
    with BarStore(store_path, read_only=True) as s:
        assert s.checksum() == checksum
        assert s.symbols() == ["SPY"]
