"""`mismartera backtest` and `mismartera demo`."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

DEMO = {
    "session": {"exchange": "XNYS", "start": "2011-01-03", "end": "2011-01-31", "speed": 0},
    "data": {"source": "sample"},
    "symbols": {"list": ["SPY"]},
    "streams": {"intervals": ["1m", "5m", "15m", "30m", "1h"]},
    "historical": {"trailing_days": 2},
    "indicators": [
        {"name": "sma", "interval": "5m", "params": {"period": 20}},
        {"name": "rsi", "interval": "1m", "params": {"period": 14}},
        {"name": "vwap", "interval": "1m"},
    ],
    "historical_indicators": [
        {"name": "trailing_avg", "field": "volume", "period": "2d", "granularity": "daily"},
    ],
}


def backtest_options(fn):
    options = [
        click.option("--symbols", help="Comma-separated symbols, e.g. AAPL,MSFT."),
        click.option("--start", help="First session date, e.g. 2024-01-02."),
        click.option("--end", help="Last session date."),
        click.option("--exchange", help="Exchange calendar code (default XNYS)."),
        click.option("--streams", help="Comma-separated intervals, e.g. 1m,5m,15m; derived "
                     "ones alone work too (5m on a 1m source streams 1m internally and shows "
                     "5m). 1w is not a stream."),
        click.option("--mode", type=click.Choice(["backtest", "live"]),
                     help="backtest (the default) or live: sessions streamed as they happen "
                          "(today's, or --start..--end's, holidays skipped; the source must "
                          "stream, e.g. replay)."),
        click.option("--source", help="Data-source plugin name (see `mismartera plugins`)."),
        click.option("--store", help="Path of the DuckDB store."),
        click.option("--speed", type=float,
                     help="0 = as fast as possible, 1 = real time, N = N x."),
        click.option("--trailing-days", type=int,
                     help="Historical trading days before each session."),
        click.option("--indicator", "indicators", multiple=True,
                     help="Indicator SPEC, e.g. sma:period=20@5m (repeatable)."),
        click.option("--strategy",
                     help="Strategy SPEC NAME[:PARAM=VALUE,...][@INTERVAL], e.g. "
                          "sma_cross:fast=10,slow=30@5m (see `mismartera plugins`)."),
        click.option("--cash", help="Starting cash of the simulated broker (default 100000)."),
        click.option("--commission",
                     help="Commission SPEC: 0.005/share, 0.1% (of the notional), min=1 "
                          "(per order), joined by commas: 0.005/share,min=1."),
        click.option("--slippage-bps", help="Slippage in basis points (buys pay more, sells "
                     "receive less, within the bar's range)."),
        click.option("--export", type=click.Path(dir_okay=False),
                     help="Write the last day's snapshot; the format follows the suffix: "
                          ".json (one document), .parquet (one file: every bar, indicator "
                          "columns beside them), .csv (one file per symbol and interval: "
                          "out/day.csv writes out/day.SPY.1m.csv, out/day.SPY.5m.csv, ...). "
                          "Each file written is printed."),
        click.option("--export-dir", type=click.Path(file_okay=False),
                     help="Write one snapshot per session day: DIR/<YYYY-MM-DD>.json, "
                          "each with that day's errors (and, with --export-every, "
                          "DIR/<YYYY-MM-DD>T<HHMM>.json during the day)."),
        click.option("--timings/--no-timings", default=None,
                     help="Include wall-clock timings in exports (makes them differ run to run)."),
        click.option("--quiet", is_flag=True, help="No progress bar or summary."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def export_options(fn):
    """`--export-every`, `--delta` and `--report` (the backtest and demo commands; not
    `system start`)."""
    fn = click.option("--report", "report", type=click.Path(dir_okay=False),
                      help="Write the run's HTML report (one self-contained page) at the "
                           "end; `mismartera report` builds it later from exports.")(fn)
    fn = click.option("--delta", is_flag=True,
                      help="With --export-every: each snapshot after the first of a day is a "
                           "delta export from the one before (the bars closed since; "
                           "replace_from on a series whose past was rewritten).")(fn)
    return click.option("--export-every", metavar="INTERVAL",
                        help="With --export-dir: also a JSON snapshot every INTERVAL of "
                             "session time (e.g. 30m) and at each close: "
                             "DIR/<YYYY-MM-DD>T<HHMM>.json, HHMM the exchange's local "
                             "time.")(fn)


def _periodic(config, app, export_every: str | None, delta: bool,
              written: list[Path]) -> tuple[list, list[int]]:
    """The observer and stop times `--export-every` asks for (none without it)."""
    if export_every is None:
        if delta:
            raise click.UsageError("--delta needs --export-every")
        return [], []
    import datetime

    from mismartera.calendar import TimeManager
    from mismartera.export import PeriodicExport, export_times

    if config.export_dir is None:
        raise click.UsageError("--export-every needs --export-dir")
    match = re.fullmatch(r"\s*(\d+)\s*([smh])\s*", export_every)
    if match is None or int(match[1]) == 0:
        raise click.BadParameter(f"{export_every!r}: expected a session time like 30m, 1h "
                                 "or 90s", param_hint="--export-every")
    every_ns = int(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2]] * 10**9
    calendar = TimeManager(config.exchange)
    start = config.start or datetime.datetime.now(calendar.tz).date()
    days = calendar.trading_days(start, config.end or start)
    exporter = PeriodicExport(config.export_dir, export_times(calendar, days, every_ns),
                              calendar, app.plugins, delta=delta, timings=config.export_timings,
                              on_export=written.append)
    return [exporter], sorted(exporter.times)


def _run(ctx: click.Context, config, quiet: bool, export_every: str | None = None,
         delta: bool = False, report: str | None = None) -> None:
    from rich.console import Console

    from mismartera.cli import App
    from mismartera.session.run import run_backtest, run_label

    app = ctx.ensure_object(App)
    console = Console(stderr=True)
    show_progress = not quiet and console.is_terminal
    label = run_label(config)  # a live run: its real trading days
    if not quiet and config.mode == "live":  # it may last hours: say what it runs
        click.echo(f"started {label}: {', '.join(config.symbols) or 'all'}", err=True)
    started = time.perf_counter()
    progress = None
    if show_progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            console=console, transient=True)
        progress.start()
        task = progress.add_task(label, total=None)

    reporter = None
    if report is not None:
        from mismartera.report import ReportCollector

        reporter = ReportCollector(config.exchange)

    def on_day_end(coord, day) -> None:
        if reporter is not None:
            reporter.day_end(coord, day)
        if progress is not None:
            progress.update(task, total=len(coord.days), advance=1, description=f"session {day}")

    written: list[Path] = []
    observers, stop_times = _periodic(config, app, export_every, delta, written)
    try:
        session_data = run_backtest(config, plugins=app.plugins, on_day_end=on_day_end,
                                    observers=observers, stop_times=stop_times,
                                    on_export=written.append, collect=False)
    finally:
        if progress is not None:
            progress.stop()
    if not quiet:
        _summary(session_data, time.perf_counter() - started)
        for path in written:
            click.echo(f"wrote {path}")
    if reporter is not None and report is not None:
        from mismartera.report import write_report

        target = write_report(report, reporter.model(session_data))
        if not quiet:
            click.echo(f"wrote {target}")


def _errors_cell(errors: list[str]) -> str:
    """The run's first error of a symbol, and how many more there were."""
    if not errors:
        return "-"
    return errors[0] + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")


def _summary(session_data, elapsed: float) -> None:
    from rich.console import Console
    from rich.table import Column

    from mismartera.commands.tables import readable_table

    m = session_data.metrics
    table = readable_table(
        Column("symbol", no_wrap=True), "intervals", Column("bars today", justify="right"),
        Column("quality", justify="right"), "errors",
        title=f"mismartera {session_data.mode} — {session_data.exchange}, last session "
              f"{session_data.date}"
    )
    indicators = readable_table(Column("symbol", no_wrap=True), Column("indicator", no_wrap=True),
                                "value", title="indicators at the close")
    for s in session_data:
        streams = s.stream_bars()
        counts = " / ".join(f"{n}:{len(b.data)}" for n, b in streams.items())
        table.add_row(s.symbol, ", ".join(streams), counts,
                      f"{streams[s.streams[0]].quality:.2f}%",
                      _errors_cell(list(s.run_errors)))
        values = [(k, v.to_dict().get("value")) for k, v in s.indicators.items()]
        values += [(k, v.get("value")) for k, v in s.historical.indicators.items()]
        for key, value in values:
            shown = f"{value:,.4f}" if isinstance(value, float) else "not ready"
            indicators.add_row(s.symbol, key, shown)
    console = Console()
    console.print(table)
    if indicators.row_count:
        console.print(indicators)
    if session_data.strategy is not None:
        console.print(_strategy_table(session_data.strategy))
    rejected = sum(m.rejected.values())
    rate = m.bars_processed / m.run_s if m.run_s > 0 else 0.0
    reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(m.rejected.items())) or "none"
    console.print(
        f"days {m.trading_days}  symbols {len(session_data)}  bars read {m.bars_read:,}  "
        f"stored {m.bars_processed:,}  derived {m.bars_derived:,}  "
        f"rejected {rejected:,} ({reasons})\n"
        f"engine {m.run_s:.2f} s ({rate:,.0f} base bars/s), {elapsed:.2f} s in all\n"
        + _phases(m)
    )


def _phases(m) -> str:
    """The phase timings (wall time summed over the days; `indicators` includes the updates
    made while streaming, which `session` counts too) and the time between sessions."""
    def wall(s: float) -> str:
        return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"

    phases = ", ".join(f"{k} {wall(v)}" for k, v in m.timings_s.items())
    between = f"; between sessions {wall(m.session_gap_s)}" if len(m.days) > 1 else ""
    return f"phases: {phases}{between}"


def _strategy_table(result):
    """The strategy's main statistics (the run's summary)."""
    from rich.table import Column

    from mismartera.commands.tables import readable_table
    from mismartera.trading.stats import STAT_ROWS, format_stat

    params = ", ".join(f"{k}={v}" for k, v in result.params.items()) or "no parameters"
    at = f"@{result.interval}" if result.interval else ""
    table = readable_table(Column("statistic", no_wrap=True), Column("value", justify="right"),
                           title=f"strategy {result.name}{at} ({params})")
    stats = result.stats
    table.add_row("cash start", f"{result.cash_start:,.2f}")
    table.add_row("equity end", f"{result.equity_end:,.2f}")
    for label, key, kind in STAT_ROWS:
        table.add_row(label, format_stat(stats.get(key), kind))
    table.add_row("orders", f"{len(result.orders):,}")
    if result.errors:
        table.add_row("errors", _errors_cell(result.errors))
    return table


@click.command()
@click.argument("session_file", required=False, type=click.Path(dir_okay=False))
@backtest_options
@export_options
@click.pass_context
def backtest(ctx: click.Context, session_file: str | None, quiet: bool,
             export_every: str | None, delta: bool, report: str | None, **flags) -> None:
    """Run a backtest from SESSION_FILE (TOML); flags override the file."""
    from mismartera.config import SessionConfig

    config = (
        SessionConfig.from_toml(session_file) if session_file else SessionConfig(origin="flags")
    )
    config = config.with_overrides(**{k: v for k, v in flags.items() if v not in (None, ())},
                                   ).validate()
    _run(ctx, config, quiet, export_every, delta, report)


@click.command()
@backtest_options
@export_options
@click.pass_context
def demo(ctx: click.Context, quiet: bool, export_every: str | None, delta: bool,
         report: str | None, **flags) -> None:
    """Backtest on the bundled real sample data (SPY, January 2011): no set-up needed."""
    from mismartera.config import SessionConfig

    config = SessionConfig.from_dict(DEMO, origin="demo")
    config = config.with_overrides(**{k: v for k, v in flags.items() if v not in (None, ())})
    _run(ctx, config.validate(), quiet, export_every, delta, report)
