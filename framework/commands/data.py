"""`mismartera data`: import bar files into the embedded store, list it, check its quality.

Only click is imported at module level; numpy, duckdb, rich and the calendar are imported by
the command that needs them, so `mismartera --help` stays quick.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import click

from mismartera.commands.dataset import export_dataset

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from rich.console import JustifyMethod

    from mismartera.bars import Bars
    from mismartera.calendar import TimeManager
    from mismartera.intervals import Interval
    from mismartera.store import BarStore

_PROGRESS_MIN_BYTES = 8 << 20  # show a progress bar when the files add up to 8 MB or more
_GAPS_SHOWN = 4  # per session in the quality table (--json lists them all)

_store_option = click.option(
    "--store",
    "store_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Store file [default: $MISMARTERA_HOME/bars.duckdb, ~/.mismartera/bars.duckdb].",
)
_exchange_option = click.option(
    "--exchange", default="XNYS", show_default=True, help="Exchange calendar code."
)


@click.group()
def data() -> None:
    """Import bar files into the embedded store, list it, check its quality."""


data.add_command(export_dataset)


# ----------------------------------------------------------------------------- import


@data.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--symbol", required=True, help="Symbol the bars belong to.")
@click.option(
    "--interval",
    default=None,
    help="Bar interval of the files [default: inferred from their timestamps].",
)
@click.option(
    "--tz", "tz_name", default=None, help="Zone of naive stamps [default: the exchange's zone]."
)
@click.option(
    "--dst",
    type=click.Choice(["refuse", "earliest", "latest"]),
    default="refuse",
    show_default=True,
    help="Naive stamps the clocks skip or repeat at a daylight-saving change: refuse them, or "
    "take the earliest or latest instant they can mean.",
)
@_exchange_option
@_store_option
@click.option(
    "--replace", is_flag=True, help="Overwrite stored bars whose values differ (else an error)."
)
@click.option(
    "--kind",
    type=click.Choice(["bars", "ticks", "quotes"]),
    default="bars",
    show_default=True,
    help="What the files hold: bars, trades (timestamp, price, size) or quotes (timestamp, "
    "bid, bid_size, ask, ask_size).",
)
def import_(
    files: tuple[Path, ...],
    symbol: str,
    interval: str | None,
    tz_name: str | None,
    dst: str,
    exchange: str,
    store_path: Path | None,
    replace: bool,
    kind: str = "bars",
) -> None:
    """Import CSV (plain or gzip) or Parquet FILES of SYMBOL's bars into the store.

    Columns: timestamp|datetime|date(+time), open, high, low, close, volume (any case, extra
    columns ignored). Without --interval, the interval is the most common spacing between
    stamps of one day (1d when there is one bar a day). All files land in one transaction:
    one bad row anywhere and nothing is stored. Re-importing the same bars changes nothing.
    With --kind ticks or quotes, the files hold trades or quotes instead."""
    from mismartera.errors import DataError
    from mismartera.importer import read_bars
    from mismartera.importer.checks import coarser_interval
    from mismartera.intervals import Interval
    from mismartera.store import BarStore, WriteResult
    from mismartera.symbols import check_symbol

    given = Interval.parse(interval) if interval is not None else None
    sym = check_symbol(symbol, "--symbol")
    tm = _calendar(exchange)
    tz = _zone(tz_name) if tz_name else tm.tz
    for f in files:
        if not f.exists():
            raise DataError(f"{f}: no such file")
        if f.is_dir():
            raise DataError(f"{f}: is a folder, expected a CSV or Parquet file")
    if kind != "bars":
        if interval is not None:
            raise click.UsageError(f"--interval is for bars, not {kind}")
        _import_ticks(files, sym, kind, tz, tm, dst, store_path, replace)
        return

    def session_open_of(d: Any) -> int | None:
        hit = tm.session(d) if tm.first_date <= d <= tm.last_date else None
        return None if hit is None else hit[0]

    parsed: list[tuple[Path, Bars]] = []
    iv = given
    with _Progress(files) as progress:
        for f in files:
            bars, found = read_bars(
                f, tz, given, session_open_of, symbol=sym, on_progress=progress.file_fraction(f),
                dst=dst,
            )
            coarser = coarser_interval(bars.ts, found) if given is not None else None
            if coarser is not None:
                raise DataError(
                    f"{f}: the spacing found between its bars within a day is {coarser} (or a "
                    f"multiple of it): these are {coarser} bars, not {given}; give "
                    f"--interval {coarser}, or leave it out to have it inferred"
                )
            if iv is not None and found != iv:
                raise DataError(
                    f"{f}: its bars are {found} bars, those of {files[0]} {iv} bars: import "
                    "them separately or give --interval"
                )
            iv = found
            parsed.append((f, bars))
            progress.parsed(f)
        assert iv is not None  # FILES is required: at least one file was read
        store = BarStore(store_path)
        with store:
            total = WriteResult(0, 0)
            with store.transaction():
                for f, bars in parsed:
                    try:
                        total += store.write(sym, iv, bars, replace=replace, tz=tm.tz)
                    except DataError as exc:
                        raise DataError(f"{f}: {exc}") from None
                    progress.written(f)
    if given is None:
        more = len(files) - 1
        others = f" and {more} more file{_s(more)}" if more else ""
        click.echo(f"interval {iv} inferred from the timestamps of {files[0]}{others}", err=True)
    _say_imported(f"{sym} {iv.name}", " bars", parsed, tm, total, store.path)


def _import_ticks(files: tuple[Path, ...], sym: str, kind: str, tz: ZoneInfo,
                  tm: TimeManager, dst: str, store_path: Path | None, replace: bool) -> None:
    """`data import --kind ticks|quotes`: every file read and checked, then all written in
    one transaction."""
    from mismartera.errors import DataError
    from mismartera.importer import read_ticks
    from mismartera.store import BarStore, WriteResult

    parsed = [(f, read_ticks(f, kind, tz, symbol=sym, dst=dst)) for f in files]
    store = BarStore(store_path)
    with store:
        total = WriteResult(0, 0)
        with store.transaction():
            for f, records in parsed:
                try:
                    total += store.write_ticks(sym, records, replace=replace, tz=tm.tz)
                except DataError as exc:
                    raise DataError(f"{f}: {exc}") from None
    _say_imported(f"{sym} {kind}", "", parsed, tm, total, store.path)


def _say_imported(what: str, noun: str, parsed: list[tuple[Path, Any]], tm: TimeManager,
                  total: Any, where: Path) -> None:
    """The one line an import ends with: rows read, files, the dates they span, and what the
    store did with them (`parsed`: (file, Bars or TickSeries) pairs)."""
    rows = sum(len(r) for _, r in parsed)
    first = min((int(r.ts[0]) for _, r in parsed if len(r)), default=None)
    last = max((int(r.ts[-1]) for _, r in parsed if len(r)), default=None)
    span = (f", {tm.date_of(first)} .. {tm.date_of(last)}"
            if first is not None and last is not None else "")
    replaced = f", {total.replaced} replaced" if total.replaced else ""
    click.echo(
        f"{what}: {rows}{noun} read from {len(parsed)} file{_s(len(parsed))}{span}; "
        f"{total.inserted} inserted, {total.unchanged} unchanged{replaced} in {where}"
    )


def _show_progress(total_bytes: int) -> bool:
    """A progress bar only for large imports, and only on a terminal."""
    return total_bytes >= _PROGRESS_MIN_BYTES and sys.stderr.isatty()


class _Progress:
    """A rich progress bar over the bytes of the files, on stderr, only when stderr is a
    terminal and the files are large; otherwise every method does nothing."""

    def __init__(self, files: tuple[Path, ...]) -> None:
        sizes = {f: (f.stat().st_size if f.is_file() else 0) for f in files}
        self.sizes = sizes
        self.total = max(sum(sizes.values()), 1)
        self.bar: Any = None
        self.task: Any = None
        self.done = 0.0
        if _show_progress(self.total):
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
            # parsing takes about two thirds of the time, writing the rest
            self.task = self.bar.add_task("importing", total=self.total * 1.5)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def file_fraction(self, f: Path) -> Any:
        if self.bar is None:
            return None
        base = self.done

        def update(fraction: float) -> None:
            self.bar.update(self.task, completed=base + fraction * self.sizes[f],
                            description=f"reading {f.name}")

        return update

    def parsed(self, f: Path) -> None:
        if self.bar is not None:
            self.done += self.sizes[f]
            self.bar.update(self.task, completed=self.done)

    def written(self, f: Path) -> None:
        if self.bar is not None:
            self.done += self.sizes[f] * 0.5
            self.bar.update(self.task, completed=self.done, description=f"storing {f.name}")


# ----------------------------------------------------------------------------- list


class _SeriesRow(TypedDict):
    """One series of `data list` (also its --json form)."""

    symbol: str
    interval: str
    first_day: str
    last_day: str
    first: str
    last: str
    bars: int


@data.command("list")
@_store_option
@_exchange_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(store_path: Path | None, exchange: str, as_json: bool) -> None:
    """Symbols, intervals, first and last day (exchange-local) and bar counts in the store."""
    store = _open_store(store_path)
    with store:
        summary = store.summary()
    tm = _calendar(exchange) if summary else None
    rows: list[_SeriesRow] = [
        {
            "symbol": s.symbol,
            "interval": s.interval,
            "first_day": str(tm.date_of(s.first_ts)) if tm else "",
            "last_day": str(tm.date_of(s.last_ts)) if tm else "",
            "first": tm.format_ts(s.first_ts) if tm else "",
            "last": tm.format_ts(s.last_ts) if tm else "",
            "bars": s.bar_count,
        }
        for s in summary
    ]
    if as_json:
        click.echo(json.dumps({"store": str(store.path), "series": rows}, indent=2))
        return
    if not rows:
        click.echo(f"no bars in {store.path}: import some with `mismartera data import`")
        return
    from rich.table import Table

    table = Table(title=str(store.path), title_justify="left")
    headers: tuple[tuple[str, JustifyMethod], ...] = (
        ("symbol", "left"), ("interval", "left"), ("first day", "left"), ("last day", "left"),
        ("bars", "right"),
    )
    for name, justify in headers:
        table.add_column(name, justify=justify)
    for r in rows:
        table.add_row(r["symbol"], r["interval"], r["first_day"], r["last_day"], f"{r['bars']:,}")
    _print(table)


# ----------------------------------------------------------------------------- quality


@data.command("quality")
@click.argument("symbol")
@click.option("--interval", default="1m", show_default=True, help="Bar interval to check.")
@click.option("--start", default=None, help="First day, YYYY-MM-DD [default: first stored].")
@click.option("--end", default=None, help="Last day, YYYY-MM-DD [default: last stored].")
@_exchange_option
@_store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def quality(
    symbol: str,
    interval: str,
    start: str | None,
    end: str | None,
    exchange: str,
    store_path: Path | None,
    as_json: bool,
) -> None:
    """Per session: bars expected and present, quality % and the gaps (missing bars)."""
    from mismartera.errors import DataError, UserError
    from mismartera.intervals import Interval
    from mismartera.symbols import check_symbol

    iv = Interval.parse(interval)
    if iv.name == "1w":
        raise UserError("data quality covers intraday and 1d bars, not 1w")
    sym = check_symbol(symbol, "SYMBOL")
    tm = _calendar(exchange)
    store = _open_store(store_path)
    with store:
        series = next(
            (s for s in store.summary() if s.symbol == sym and s.interval == iv.name), None
        )
        if series is None:
            raise DataError(f"no {iv.name} bars for {sym} in {store.path}")
        first = tm.parse_date(start) if start else tm.date_of(series.first_ts)
        last = tm.parse_date(end) if end else tm.date_of(series.last_ts)
        if last < first:
            raise UserError(f"--end {last} is before --start {first}")
        table = tm.sessions(first, last)
        if not len(table):
            raise UserError(f"no {tm.exchange} sessions from {first} to {last}")
        bars = store.read(sym, iv, int(table.opens[0]), int(table.closes[-1]))
    report = _quality_report(sym, iv, tm, table, bars.ts)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    _print_quality(report)


def _quality_report(sym: str, iv: Interval, tm: TimeManager, table: Any, ts: Any) -> dict:
    import numpy as np

    from mismartera.ext.gaps import find_gaps

    opens = np.asarray(table.opens, np.int64)
    closes = np.asarray(table.closes, np.int64)
    step = iv.ns if iv.is_intraday else 86_400 * 1_000_000_000
    expected = (closes - opens + step - 1) // step
    # present: bars on the grid of a session (pre- and after-hours bars do not count)
    idx = np.searchsorted(opens, ts, side="right") - 1
    safe = np.clip(idx, 0, len(opens) - 1)
    on_grid = (idx >= 0) & (ts < closes[safe]) & ((ts - opens[safe]) % step == 0)
    present = np.bincount(safe[on_grid], minlength=len(opens))
    starts, ends, counts = find_gaps(ts, opens, closes, step)
    owner = np.searchsorted(opens, starts, side="right") - 1
    start_text, end_text = tm.format_many(starts), tm.format_many(ends)
    gaps: list[list[dict]] = [[] for _ in range(len(opens))]
    for k, s in enumerate(owner.tolist()):
        gaps[s].append({"start": start_text[k], "end": end_text[k], "bar_count": int(counts[k])})
    sessions = [
        {
            "date": str(d),
            "open": tm.format_ts(int(opens[i])),
            "close": tm.format_ts(int(closes[i])),
            "expected": int(expected[i]),
            "present": int(present[i]),
            "quality": _pct(int(present[i]), int(expected[i])),
            "gap_count": len(gaps[i]),
            "missing_bars": sum(g["bar_count"] for g in gaps[i]),
            "gaps": gaps[i],
        }
        for i, d in enumerate(table.dates)
    ]
    total_expected, total_present = int(expected.sum()), int(present.sum())
    return {
        "symbol": sym,
        "interval": iv.name,
        "exchange": tm.exchange,
        "start": str(table.dates[0]),
        "end": str(table.dates[-1]),
        "expected": total_expected,
        "present": total_present,
        "quality": _pct(total_present, total_expected),
        "sessions": sessions,
    }


def _print_quality(report: dict) -> None:
    from rich.table import Table

    title = (
        f"{report['symbol']} {report['interval']} ({report['exchange']}) "
        f"{report['start']} .. {report['end']}"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("session")
    table.add_column("expected", justify="right")
    table.add_column("present", justify="right")
    table.add_column("quality %", justify="right")
    table.add_column("gaps (first .. last missing bar)")
    for s in report["sessions"]:
        shown = [
            g["start"] if g["bar_count"] == 1 else f"{g['start']} .. {g['end']}"
            for g in s["gaps"][:_GAPS_SHOWN]
        ]
        shown = [f"{t} ({g['bar_count']})" for t, g in zip(shown, s["gaps"], strict=False)]
        if len(s["gaps"]) > _GAPS_SHOWN:
            shown.append(f"... {len(s['gaps']) - _GAPS_SHOWN} more (see --json)")
        table.add_row(s["date"], str(s["expected"]), str(s["present"]),
                      f"{s['quality']:.2f}", "\n".join(shown) or "-")
    table.add_section()
    table.add_row("all", str(report["expected"]), str(report["present"]),
                  f"{report['quality']:.2f}", "")
    _print(table)


# ----------------------------------------------------------------------------- helpers


def _pct(present: int, expected: int) -> float:
    return 100.0 if expected <= 0 else round(100.0 * present / expected, 2)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _calendar(exchange: str) -> TimeManager:
    from mismartera.calendar import TimeManager

    return TimeManager(exchange).load()


def _zone(name: str) -> ZoneInfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from mismartera.errors import UserError

    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"unknown time zone {name!r}: expected an IANA zone such as America/New_York or UTC"
        ) from None


def _open_store(path: Path | None) -> BarStore:
    from mismartera.errors import DataError
    from mismartera.store import BarStore

    if path is not None and not Path(path).expanduser().exists():
        raise DataError(f"store {path} does not exist")
    return BarStore(path, read_only=True)


def _print(renderable: Any) -> None:
    from rich.console import Console

    Console(soft_wrap=False).print(renderable)
