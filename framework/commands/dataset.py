"""`mismartera data export-dataset`: bars of any source written as a hive-partitioned Parquet
dataset, `OUT/symbol=SPY/year=2020/1m.parquet` (years exchange-local), the layout the
`parquet` source reads by partition and a cluster shares through object storage.

Files hold `ts` (int64 ns since the epoch, UTC), `open, high, low, close, volume` (float64),
in time order, zstd-compressed. The dataset is written into a temporary folder beside OUT and
renamed into place when complete: OUT is never half-written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from mismartera.bars import Bars
    from mismartera.intervals import Interval
    from mismartera.sources import DataSource


@dataclass(frozen=True)
class Part:
    """One file written: a symbol's bars of one interval in one year."""

    symbol: str
    interval: str
    year: int
    bars: int


def local_midnight_ns(d: date, tz: ZoneInfo) -> int:
    """The instant `d` starts in `tz`, as ns since the epoch."""
    return int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()) * 10**9


def split_years(bars: Bars, tz: ZoneInfo) -> list[tuple[int, Bars]]:
    """`bars` (in time order) cut at each new year in `tz`: (year, that year's bars)."""
    import numpy as np

    if not len(bars):
        return []
    first, last = (datetime.fromtimestamp(int(t) / 1e9, tz).year
                   for t in (bars.ts[0], bars.ts[-1]))
    cuts = [local_midnight_ns(date(y, 1, 1), tz) for y in range(first + 1, last + 1)]
    edges = [0, *np.searchsorted(bars.ts, cuts).tolist(), len(bars)]
    return [(first + k, bars.slice(edges[k], edges[k + 1]))
            for k in range(len(edges) - 1) if edges[k + 1] > edges[k]]


def write_dataset(
    source: DataSource,
    out: Path,
    symbols: Sequence[str],
    start_ns: int,
    end_ns: int,
    tz: ZoneInfo,
    intervals: Sequence[Interval] = (),
    *,
    replace: bool = False,
    on_part: Callable[[Part], None] | None = None,
) -> list[Part]:
    """Write the bars of `symbols` with start_ns <= ts < end_ns (every interval the source
    holds, or `intervals`) as `out/symbol=S/year=Y/<interval>.parquet`, atomically: into a
    temporary folder renamed to `out` at the end (an existing `out` is replaced only when
    `replace`; else a UserError)."""
    from mismartera.errors import UserError
    from mismartera.importer.db import connection

    out = Path(out)
    if out.exists() and not replace:
        raise UserError(f"{out} exists: choose another folder or give --replace")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    parts: list[Part] = []
    con = connection()
    try:
        for sym in symbols:
            for iv in intervals or source.intervals(sym):
                bars = source.bars(sym, iv, start_ns, end_ns)
                for year, chunk in split_years(bars, tz):
                    folder = tmp / f"symbol={sym}" / f"year={year}"
                    folder.mkdir(parents=True, exist_ok=True)
                    _write_parquet(con, chunk, folder / f"{iv.name}.parquet")
                    parts.append(Part(sym, iv.name, year, len(chunk)))
                    if on_part is not None:
                        on_part(parts[-1])
        if not parts:
            raise UserError(f"no bars of {', '.join(symbols)} in the range asked: nothing "
                            f"written to {out}")
        _move_into_place(tmp, out)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return parts


def _write_parquet(con, bars: Bars, path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"ts": bars.ts, "open": bars.open, "high": bars.high, "low": bars.low,
                          "close": bars.close, "volume": bars.volume})
    con.register("part_", frame)
    try:
        target = str(path).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM part_ ORDER BY ts) TO '{target}' "
                    "(FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.unregister("part_")


def _move_into_place(tmp: Path, out: Path) -> None:
    """`tmp` renamed to `out`; an old `out` moved aside first and removed after."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        if old.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


@click.command("export-dataset")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--source", "source_name", default="store", show_default=True,
              help="Data-source plugin to read (see `mismartera plugins`).")
@click.option("--store", "store_path", default=None,
              help="Store file, for --source store [default: $MISMARTERA_HOME/bars.duckdb].")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A source option (repeatable), e.g. --option path=bars/ for csv.")
@click.option("--symbols", default=None,
              help="Comma-separated symbols [default: every symbol of the source].")
@click.option("--start", default=None, help="First day, YYYY-MM-DD [store: first stored].")
@click.option("--end", default=None, help="Last day, YYYY-MM-DD [store: last stored].")
@click.option("--interval", "intervals", default=None,
              help="Comma-separated intervals [default: every interval a symbol has].")
@click.option("--exchange", default="XNYS", show_default=True,
              help="Exchange calendar: its zone cuts the years.")
@click.option("--replace", is_flag=True, help="Replace OUT if it exists.")
@click.pass_context
def export_dataset(ctx: click.Context, out: Path, source_name: str, store_path: str | None,
                   options: tuple[str, ...], symbols: str | None, start: str | None,
                   end: str | None, intervals: str | None, exchange: str,
                   replace: bool) -> None:
    """Write a source's bars as a hive-partitioned Parquet dataset OUT/symbol=S/year=Y/.

    The `parquet` source reads it (option path=OUT, or its s3:// / gs:// / https:// copy)
    loading only the symbols and years a run asks for. OUT is written atomically."""
    from mismartera.cli import App
    from mismartera.errors import UserError
    from mismartera.intervals import Interval
    from mismartera.symbols import check_symbol

    opts: dict[str, str] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--option")
        opts[key.strip()] = value
    if store_path is not None:
        opts["store"] = store_path
    app = ctx.ensure_object(App)
    source = app.plugins.make_source(source_name, opts, exchange=exchange, key="--source")
    from mismartera.calendar import TimeManager

    tm = TimeManager(exchange)
    syms = ([check_symbol(s, "--symbols") for s in symbols.split(",") if s.strip()]
            if symbols else source.symbols())
    ivs = [Interval.parse(i) for i in intervals.split(",") if i.strip()] if intervals else []
    first, last = _range(source, tm, start, end)
    if last < first:
        raise UserError(f"--end {last} is before --start {first}")
    parts = write_dataset(source, out, syms, local_midnight_ns(first, tm.tz),
                          local_midnight_ns(last + timedelta(days=1), tm.tz), tm.tz, ivs,
                          replace=replace)
    years = sorted({p.year for p in parts})
    click.echo(f"{len(parts)} files ({len({p.symbol for p in parts})} symbols, years "
               f"{years[0]}..{years[-1]}, {sum(p.bars for p in parts):,} bars) written to {out}")


def _range(source: DataSource, tm, start: str | None, end: str | None) -> tuple[date, date]:
    """--start/--end as dates; the store's first/last stored day when left out."""
    if start is not None and end is not None:
        return tm.parse_date(start), tm.parse_date(end)
    store = getattr(source, "store", None)
    summary = store.summary() if store is not None else []
    if not summary:
        raise click.UsageError(f"give --start and --end: source {source.name!r} does not say "
                               "which days it holds")
    first = tm.date_of(min(s.first_ts for s in summary))
    last = tm.date_of(max(s.last_ts for s in summary))
    return (tm.parse_date(start) if start else first), (tm.parse_date(end) if end else last)
