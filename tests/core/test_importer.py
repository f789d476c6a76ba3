"""The importer: real files against an independent read, every format variant, row checks."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.bars import Bars
from mismartera.calendar import TimeManager
from mismartera.errors import DataError
from mismartera.importer import infer_interval, parquet_symbols, read_bars, read_bars_file
from mismartera.intervals import Interval

NY = ZoneInfo("America/New_York")
NS = 1_000_000_000
MIN = 60 * NS
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE_FILES = ["AAPL_2014-11.csv", "AAPL_2021-08.csv", "MSFT_2021-08.csv", "SPY_2011-01.csv",
                "SPY_2014-11.csv", "TSLA_2021-08.csv"]
DAILY_FILES = ["AAPL_2012-2014.csv", "MSFT_2012-2014.csv"]


def ns_of(dt: datetime) -> int:
    td = dt - EPOCH
    return (td.days * 86_400 + td.seconds) * NS + td.microseconds * 1000


def reference_read(path: Path) -> tuple[list[int], list[tuple[float, ...]]]:
    """The file read with the csv module and datetime, nothing of ours."""
    stamps, values = [], []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            stamps.append(ns_of(datetime.fromisoformat(row["timestamp"])))
            values.append(tuple(float(row[k]) for k in ("open", "high", "low", "close", "volume")))
    return stamps, values


def as_rows(bars: Bars) -> tuple[list[int], list[tuple[float, ...]]]:
    return bars.ts.tolist(), list(zip(*(a.tolist() for a in bars[1:]), strict=True))


@pytest.fixture(scope="module")
def calendar() -> TimeManager:
    return TimeManager("XNYS")


def open_of(calendar: TimeManager):
    def session_open_of(d: date) -> int | None:
        hit = calendar.session(d)
        return None if hit is None else hit[0]

    return session_open_of


# ----------------------------------------------------------------------- real files


def test_real_files_are_present(shared_data):
    assert sorted(p.name for p in (shared_data / "minute").glob("*.csv")) == MINUTE_FILES
    assert sorted(p.name for p in (shared_data / "daily").glob("*.csv")) == DAILY_FILES


@pytest.mark.parametrize("name", MINUTE_FILES)
def test_real_minute_file_matches_an_independent_read(shared_data, name):
    path = shared_data / "minute" / name
    bars = read_bars_file(path, "1m", NY)
    assert as_rows(bars) == reference_read(path)


def test_pre_market_and_after_hours_rows_are_kept(shared_data):
    bars = read_bars_file(shared_data / "minute" / "SPY_2011-01.csv", "1m", NY)
    local_minutes = [(datetime.fromtimestamp(t / NS, NY).hour * 60
                      + datetime.fromtimestamp(t / NS, NY).minute) for t in bars.ts.tolist()]
    before = sum(m < 9 * 60 + 30 for m in local_minutes)
    after = sum(m >= 16 * 60 for m in local_minutes)
    regular = len(local_minutes) - before - after
    assert before > 0 and after > 0 and regular == 20 * 390
    assert len(bars) == 14_180


@pytest.mark.parametrize("name", DAILY_FILES)
def test_real_daily_file_bars_sit_at_the_session_open(shared_data, name, calendar):
    path = shared_data / "daily" / name
    bars, iv = read_bars(path, NY, None, open_of(calendar))
    assert iv.name == "1d"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(bars) == 754
    # every 2012-2014 XNYS session opens at 09:30 New York time
    want = [ns_of(datetime.combine(date.fromisoformat(r["date"]), datetime.min.time())
                  .replace(hour=9, minute=30, tzinfo=NY)) for r in rows]
    assert bars.ts.tolist() == want
    assert bars.close.tolist() == [float(r["close"]) for r in rows]
    assert bars.volume.tolist() == [float(r["volume"]) for r in rows]


def test_daily_date_that_is_no_session_is_an_error(tmp_path, calendar):
    f = tmp_path / "d.csv"
    f.write_text("date,open,high,low,close,volume\n2012-01-03,1,2,0.5,1.5,10\n"
                 "2012-01-07,1,2,0.5,1.5,10\n")
    with pytest.raises(DataError, match=r"d\.csv:3: 2012-01-07 is not a trading session"):
        read_bars_file(f, "1d", NY, open_of(calendar))


@pytest.mark.parametrize("stamp,ok", [
    ("2012-01-03 00:00:00", True),
    ("2012-01-03T09:30:00-05:00", True),
    ("2012-01-03T14:30:00Z", True),
    ("2012-01-03 12:00:00", False),
])
def test_daily_bars_given_with_a_time(tmp_path, calendar, stamp, ok):
    f = tmp_path / "d.csv"
    f.write_text(f"timestamp,open,high,low,close,volume\n{stamp},1,2,0.5,1.5,10\n")
    if ok:
        bars = read_bars_file(f, "1d", NY, open_of(calendar))
        assert bars.ts.tolist() == [ns_of(datetime(2012, 1, 3, 9, 30, tzinfo=NY))]
    else:
        with pytest.raises(DataError, match=r"d\.csv:2: 1d bar timestamp .* neither midnight"):
            read_bars_file(f, "1d", NY, open_of(calendar))


def test_infer_interval(shared_data):
    assert infer_interval(shared_data / "minute" / "AAPL_2021-08.csv", NY).name == "1m"
    assert infer_interval(shared_data / "daily" / "MSFT_2012-2014.csv", NY).name == "1d"


@pytest.mark.parametrize("minutes,want", [((0, 5, 15), "5m"), ((0, 60, 120), "1h"),
                                          ((0, 7, 14), None), ((0,), None)])
def test_infer_interval_from_spacing(tmp_path, minutes, want):
    f = tmp_path / "x.csv"
    start = datetime(2024, 1, 3, 9, 30)
    lines = [f"{start + timedelta(minutes=m):%Y-%m-%d %H:%M},1,2,0.5,1.5,10" for m in minutes]
    f.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(lines) + "\n")
    if want:
        assert infer_interval(f, NY).name == want
    else:
        with pytest.raises(DataError, match="cannot infer the bar interval"):
            infer_interval(f, NY)


# ----------------------------------------------------------------------- formats

HEADER = ["timestamp", "open", "high", "low", "close", "volume"]


def bars_strategy(max_size: int = 12):
    """Valid minute bars on whole minutes of 2011-03-10..15 (across the DST change)."""
    base = ns_of(datetime(2011, 3, 10, 14, 0, tzinfo=UTC))
    price = st.integers(1, 10_000).map(lambda x: x / 100)

    @st.composite
    def build(draw):
        steps = draw(st.lists(st.integers(0, 8 * 24 * 60), min_size=1, max_size=max_size,
                              unique=True))
        ts = sorted(base + m * MIN for m in steps)
        rows = []
        for _ in ts:
            a, b, c, d = sorted(draw(st.lists(price, min_size=4, max_size=4)))
            o, cl = draw(st.permutations([b, c]))
            rows.append((o, d, a, cl, float(draw(st.integers(0, 10**9)))))
        return Bars.from_arrays(ts, *zip(*rows, strict=True))

    return build()


def text_of(ns: int, style: str) -> tuple[str, ...]:
    """A stamp written as a user's file might: offset, naive New York, UTC Z, date + time."""
    local = datetime.fromtimestamp(ns / NS, NY)
    if style == "offset":
        return (local.isoformat(),)
    if style == "naive":
        return (local.strftime("%Y-%m-%d %H:%M:%S"),)
    if style == "naive_short":
        return (local.strftime("%Y-%m-%d %H:%M"),)
    if style == "utc":
        return (datetime.fromtimestamp(ns / NS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),)
    return (local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S"))  # date + time


def write_csv(path: Path, bars: Bars, *, style: str, time_name: str, case: str,
              order: list[int], extra: bool, quote: bool, crlf: bool, gz: bool) -> None:
    names = ["date", "time"] if style == "date+time" else [time_name]
    names += ["open", "high", "low", "close", "volume"]
    if extra:
        names.append("dividend")
    names = [getattr(n, case)() for n in names]
    k = len(names) - 5 - int(extra)  # time columns
    perm = list(range(k)) + [k + i for i in order] + ([len(names) - 1] if extra else [])
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL if quote else csv.QUOTE_MINIMAL,
                        lineterminator="\r\n" if crlf else "\n")
    writer.writerow([names[i] for i in perm])
    for i, t in enumerate(bars.ts.tolist()):
        row = [*text_of(t, style), *(repr(float(a[i])) for a in bars[1:])]
        if extra:
            row.append("0.0")
        writer.writerow([row[j] for j in perm])
    data = out.getvalue().encode()
    path.write_bytes(gzip.compress(data) if gz else data)


formats = st.fixed_dictionaries({
    "style": st.sampled_from(["offset", "naive", "naive_short", "utc", "date+time"]),
    "time_name": st.sampled_from(["timestamp", "datetime"]),
    "case": st.sampled_from(["lower", "upper", "title"]),
    "order": st.permutations(range(5)),
    "extra": st.booleans(),
    "quote": st.booleans(),
    "crlf": st.booleans(),
    "gz": st.booleans(),
})


@given(bars=bars_strategy(), fmt=formats)
def test_every_csv_variant_reads_back_exactly(tmp_path_factory, bars, fmt):
    path = tmp_path_factory.mktemp("fmt") / ("x.csv.gz" if fmt["gz"] else "x.csv")
    write_csv(path, bars, **fmt)
    got = read_bars_file(path, "1m", NY)
    assert as_rows(got) == as_rows(bars)


def test_naive_stamps_follow_the_zone_across_dst(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("timestamp,open,high,low,close,volume\n"
                 "2011-03-11 09:30,1,2,0.5,1.5,1\n2011-03-14 09:30,1,2,0.5,1.5,1\n")
    got = read_bars_file(f, "1m", NY).ts.tolist()
    assert got == [ns_of(datetime(2011, 3, 11, 14, 30, tzinfo=UTC)),
                   ns_of(datetime(2011, 3, 14, 13, 30, tzinfo=UTC))]
    utc = read_bars_file(f, "1m", ZoneInfo("UTC")).ts.tolist()
    assert utc == [ns_of(datetime(2011, 3, 11, 9, 30, tzinfo=UTC)),
                   ns_of(datetime(2011, 3, 14, 9, 30, tzinfo=UTC))]


@pytest.mark.parametrize("interval,stamps,bad_line", [
    ("5m", ["09:30", "09:35", "09:45"], None),
    ("5m", ["09:30", "09:32"], 3),
    ("1h", ["09:30", "10:30", "11:30"], None),  # session-anchored hours
    ("1h", ["10:00", "11:00"], None),  # clock hours
    ("1h", ["09:30", "10:45"], 3),
    ("1m", ["09:30", "09:31:30"], 3),
])
def test_alignment(tmp_path, interval, stamps, bad_line):
    f = tmp_path / "x.csv"
    rows = "".join(f"2024-01-03 {s},1,2,0.5,1.5,1\n" for s in stamps)
    f.write_text("timestamp,open,high,low,close,volume\n" + rows)
    if bad_line is None:
        assert len(read_bars_file(f, interval, NY)) == len(stamps)
    else:
        with pytest.raises(DataError, match=rf"x\.csv:{bad_line}: timestamp .* not on the "
                                            rf"{interval} grid"):
            read_bars_file(f, interval, NY)


# ----------------------------------------------------------------------- row checks

GOOD = ["2024-01-03 09:30", "10", "11", "9", "10.5", "100"]
DEFECTS = {
    # kind: (how to spoil row i (a list of fields) given the previous row, expected reason)
    "not_number": (lambda r, p: r.__setitem__(2, "1O.5"), r"'1O\.5' is not a number in "
                                                           r"column 'high'"),
    "missing": (lambda r, p: r.__setitem__(4, ""), r"missing value in column 'close'"),
    "nan": (lambda r, p: r.__setitem__(1, "NaN"), r"open nan is not a finite number"),
    "inf": (lambda r, p: r.__setitem__(3, "-inf"), r"low -inf is not a finite number"),
    "high_low": (lambda r, p: r.__setitem__(3, "12"), r"high 11\.0 is below low 12\.0"),
    "open_high": (lambda r, p: r.__setitem__(1, "11.5"), r"open 11\.5 is above high 11\.0"),
    "close_low": (lambda r, p: r.__setitem__(4, "8.5"), r"close 8\.5 is below low 9\.0"),
    "volume": (lambda r, p: r.__setitem__(5, "-5"), r"volume -5\.0 is negative"),
    "duplicate": (lambda r, p: r.__setitem__(0, p[0]), r"timestamp .* is not after the "
                                                       r"previous row's \(a duplicate\)"),
    "earlier": (lambda r, p: r.__setitem__(0, "2024-01-03 09:00"), r"timestamp 2024-01-03 "
                                                                   r"09:00 is not after the "
                                                                   r"previous row's \(2024"),
    "misaligned": (lambda r, p: r.__setitem__(0, r[0] + ":30"), r"timestamp .*:30 is not on "
                                                                r"the 1m grid"),
    "bad_stamp": (lambda r, p: r.__setitem__(0, "2024-13-03 09:30"), r"'2024-13-03 09:30' is "
                                                                     r"not a timestamp"),
    "fields": (lambda r, p: r.pop(), r"expected 6 fields as in the header, found 5"),
}


@given(n=st.integers(1, 30), at=st.integers(0, 29), kind=st.sampled_from(sorted(DEFECTS)),
       blank_after=st.booleans())
def test_first_bad_row_is_named_with_its_line(tmp_path_factory, n, at, kind, blank_after):
    """One spoiled row among valid ones: the error names exactly its line and the reason,
    whichever pass (DuckDB's or the exact one) finds it; a blank line before it counts."""
    at = at % n
    if kind in ("duplicate", "earlier") and at == 0:
        at = min(1, n - 1)
        if n == 1:
            kind = "volume"
    start = datetime(2024, 1, 3, 9, 30)
    rows = [[f"{start + timedelta(minutes=i):%Y-%m-%d %H:%M}", *GOOD[1:]] for i in range(n)]
    spoil, reason = DEFECTS[kind]
    spoil(rows[at], rows[at - 1] if at else None)
    lines = [",".join(HEADER)] + [",".join(r) for r in rows]
    line_of_bad = at + 2
    if blank_after and at > 0:
        lines.insert(2, "")  # a blank line after the first data row
        line_of_bad += 1
    path = tmp_path_factory.mktemp("bad") / "x.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"x\.csv:{line_of_bad}: {reason}"):
        read_bars_file(path, "1m", NY)


def test_line_numbers_count_quoted_newlines(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text('timestamp,open,high,low,close,volume,note\n'
                 '2024-01-03 09:30,1,2,0.5,1.5,1,"two\nlines"\n'
                 '2024-01-03 09:31,1,2,0.5,1.5,1,x\n'
                 '2024-01-03 09:32,1,2,0.5,1.5,-1,x\n')
    with pytest.raises(DataError, match=r"x\.csv:5: volume -1\.0 is negative"):
        read_bars_file(f, "1m", NY)


def test_progress_is_reported(shared_data, tmp_path):
    seen: list[float] = []
    read_bars_file(shared_data / "minute" / "SPY_2011-01.csv", "1m", NY, on_progress=seen.append)
    assert seen and seen[-1] == 1.0 and all(0.0 <= x <= 1.0 for x in seen)


# ----------------------------------------------------------------------- parquet


def to_parquet(src: Path, dest: Path, select: str) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    con.execute(f"COPY (SELECT {select} FROM read_csv(?, all_varchar=true)) TO '{dest}' "
                "(FORMAT parquet)", [str(src)])
    con.close()


NUMBERS = "open::DOUBLE AS open, high::DOUBLE AS High, low::DOUBLE AS low, " \
          "close::DOUBLE AS close, volume::BIGINT AS volume"


@pytest.mark.parametrize("select", [
    f"timestamp::TIMESTAMPTZ AS timestamp, {NUMBERS}",
    f"timestamp AS Timestamp, {NUMBERS}",  # ISO text
    f"(timestamp::TIMESTAMPTZ)::TIMESTAMP AS datetime, {NUMBERS}",  # naive New York
    f"epoch_ns(timestamp::TIMESTAMPTZ) AS ts, {NUMBERS}",  # integer ns UTC
    f"'SPY' AS symbol, timestamp::TIMESTAMPTZ AS ts, {NUMBERS}, 1 AS extra",
], ids=["timestamptz", "text", "naive", "int-ns", "symbol"])
def test_parquet_reads_like_the_csv(shared_data, tmp_path, select):
    src = shared_data / "minute" / "SPY_2011-01.csv"
    dest = tmp_path / "SPY.parquet"
    to_parquet(src, dest, select)
    got = read_bars_file(dest, "1m", NY, symbol="SPY")
    assert as_rows(got) == reference_read(src)


def test_parquet_with_several_symbols(shared_data, tmp_path):
    dest = tmp_path / "many.parquet"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM (SELECT 'spy' AS symbol, * FROM read_csv(?)) UNION ALL "
        "(SELECT 'AAPL' AS symbol, * FROM read_csv(?)) ORDER BY symbol, timestamp) "
        f"TO '{dest}' (FORMAT parquet)",
        [str(shared_data / "minute" / f"{sym}_2014-11.csv") for sym in ("SPY", "AAPL")],
    )
    con.close()
    assert parquet_symbols(dest) == ["AAPL", "SPY"]
    for sym in ("SPY", "AAPL"):
        got = read_bars_file(dest, "1m", NY, symbol=sym)
        assert as_rows(got) == reference_read(shared_data / "minute" / f"{sym}_2014-11.csv")
    with pytest.raises(DataError, match="no rows for symbol MSFT"):
        read_bars_file(dest, "1m", NY, symbol="MSFT")


def test_parquet_bad_row_is_named_by_row(tmp_path):
    dest = tmp_path / "x.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM (VALUES ('2024-01-03 09:30', 1.0, 2.0, 0.5, 1.5, 1), "
                "('2024-01-03 09:31', 1.0, 2.0, 0.5, 1.5, 1), "
                "('2024-01-03 09:32', 1.0, 0.9, 0.5, 1.5, 1)) "
                f"t(timestamp, open, high, low, close, volume)) TO '{dest}' (FORMAT parquet)")
    con.close()
    with pytest.raises(DataError, match=r"x\.parquet: row 3: open 1\.0 is above high 0\.9"):
        read_bars_file(dest, "1m", NY)
    assert parquet_symbols(dest) is None


def test_interval_object_or_name(shared_data):
    a = read_bars_file(shared_data / "minute" / "TSLA_2021-08.csv", Interval.parse("1m"), NY)
    b = read_bars_file(shared_data / "minute" / "TSLA_2021-08.csv", "1m", NY)
    assert as_rows(a) == as_rows(b)


# ----------------------------------------------------------------------- zone offsets

ZONES = ["America/New_York", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe",
         "Europe/London", "UTC"]


@given(zone=st.sampled_from(ZONES),
       stamps=st.lists(st.integers(ns_of(datetime(1995, 1, 1, tzinfo=UTC)) // NS,
                                   ns_of(datetime(2035, 1, 1, tzinfo=UTC)) // NS),
                       min_size=1, max_size=40),
       near_change=st.booleans(), valid=st.lists(st.booleans(), min_size=40, max_size=40))
def test_utc_offsets_match_zoneinfo(zone, stamps, near_change, valid):
    """The importer's vectorised offsets (used for grid and date checks) equal zoneinfo's
    for any instants, sorted or not, clustered around a DST change or not."""
    from mismartera.importer.stamps import utc_offsets

    tz = ZoneInfo(zone)
    if near_change:  # pile the stamps within a day of New York's 2011-11-06 change
        base = ns_of(datetime(2011, 11, 6, 6, 0, tzinfo=UTC)) // NS
        stamps = [base + (s % 172_800) - 86_400 for s in stamps]
    ts = np.array(stamps, np.int64) * NS + np.array([s % 3 for s in stamps]) * 20 * NS
    mask = np.array(valid[: len(ts)], np.bool_)
    got = utc_offsets(ts, mask, tz)
    want = [int(datetime.fromtimestamp(t / NS, tz).utcoffset().total_seconds()) * NS if m else 0
            for t, m in zip(ts.tolist(), mask.tolist(), strict=True)]
    assert got.tolist() == want
