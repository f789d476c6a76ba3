"""`mismartera sweep`: a parameter sweep (or walk-forward) of a session's strategy."""

from __future__ import annotations

import math
from typing import Any

import click

_WINDOWS = ("monthly", "quarterly", "yearly")
_ENGINES = ("local", "ray")
_TOP = 10


@click.command()
@click.argument("session_file", type=click.Path(dir_okay=False))
@click.option("--grid", "grids", multiple=True, metavar="PARAM=V1,V2,...",
              help="Values of one strategy parameter (repeatable; the grid is every "
                   "combination), e.g. --grid fast=5,10,20 --grid slow=30,50.")
@click.option("--symbols", "symbol_sets", multiple=True, metavar="A,B",
              help="A symbol set run as one backtest (repeatable: each is one set; default "
                   "the session's symbols).")
@click.option("--windows", type=click.Choice(_WINDOWS),
              help="Also split the period into calendar windows: one task per window.")
@click.option("--walk-forward", "walk_forward", metavar="train=6m,test=1m",
              help="Pick the best parameters on each training window by --rank and run them "
                   "on the test window after it (d trading days, w weeks, m months, y years).")
@click.option("--rank", default="sharpe", show_default=True,
              help="The metric rows are ranked by (sharpe, sortino, total_return, cagr, "
                   "calmar, ...; volatility and max_drawdown: lowest first).")
@click.option("--workers", type=click.IntRange(min=0),
              help="Worker processes (default: the CPUs; 0 runs in this process) or, with "
                   "--engine ray, CPUs to use.")
@click.option("--engine", type=click.Choice(_ENGINES), default="local", show_default=True,
              help="local: a process pool; ray: Ray tasks (pip install mismartera[ray]).")
@click.option("--ray-address", help="A running Ray cluster's address (HOST:PORT or auto); a "
              "local Ray is started otherwise.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Further tries of a task that fails before its error is recorded.")
@click.option("--resume", is_flag=True,
              help="Go on with an unfinished sweep of the same job in OUTPUT: skip the tasks "
                   "it holds.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The results table (.parquet): one row per task.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
@click.pass_context
def sweep(ctx: click.Context, session_file: str, grids: tuple[str, ...],
          symbol_sets: tuple[str, ...], windows: str | None, walk_forward: str | None,
          rank: str, workers: int | None, engine: str, ray_address: str | None, retries: int,
          resume: bool, output: str, quiet: bool) -> None:
    """Run SESSION_FILE's strategy over a parameter grid: one backtest per grid point, symbol
    set and window; one row each in OUTPUT."""
    from rich.console import Console

    from mismartera.cli import App
    from mismartera.config import SessionConfig
    from mismartera.sweep.engines import make_engine
    from mismartera.sweep.plan import make_job, parse_grid
    from mismartera.sweep.results import Results
    from mismartera.sweep.runner import run_sweep

    app = ctx.ensure_object(App)
    config = SessionConfig.from_toml(session_file)
    job = make_job(config, parse_grid(grids), app.plugins, symbol_sets=symbol_sets,
                   windows=windows, walk_forward=walk_forward, rank=rank)
    runner = make_engine(engine, workers, ray_address, retries)
    results = Results(job, output, resume)
    results.check()
    console = Console(stderr=True)
    bar = _Bar(console) if not quiet and console.is_terminal else None
    try:
        run_sweep(job, runner, results, on_plan=None if bar is None else bar.plan,
                  on_row=None if bar is None else bar.row)
    except KeyboardInterrupt:
        if bar is not None:
            bar.stop()
            bar = None
        click.echo(f"interrupted: {len(results.rows)} rows written to {output}; run the same "
                   f"command with --resume to finish the sweep", err=True)
        ctx.exit(130)
    finally:
        if bar is not None:
            bar.stop()
    if not quiet:
        _summary(results.frame(), job, output)


class _Bar:
    """The rich progress bar: tasks done of all, failed, time left."""

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("failed {task.fields[failed]}"),
                                 TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                                 console=console, transient=True)
        self.task = self.progress.add_task("sweep", total=None, failed=0)
        self.failed = 0
        self.progress.start()

    def plan(self, total: int, skipped: int) -> None:
        self.progress.update(self.task, total=total, completed=skipped)

    def row(self, row: dict[str, Any]) -> None:
        self.failed += row["status"] != "ok"
        self.progress.update(self.task, advance=1, failed=self.failed)

    def stop(self) -> None:
        self.progress.stop()


def _number(value: Any, kind: str) -> str:
    from mismartera.trading.stats import format_stat

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format_stat(int(value) if kind == "int" else float(value), kind)


_SHOWN = (("total return", "total_return", "pct"), ("Sharpe", "sharpe", "num"),
          ("max drawdown", "max_drawdown", "pct"), ("trades", "trades", "int"))


def _summary(df: Any, job: Any, output: str) -> None:
    """The top rows by the ranking metric (a walk-forward: its test rows and out-of-sample
    row), the counts, and the overfitting summary."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Column

    from mismartera.commands.tables import readable_table
    from mismartera.sweep.plan import LOWER_IS_BETTER, STAT_COLUMNS

    console = Console()
    metric = job.rank
    kinds = {key: kind for _, key, kind in _SHOWN} | {metric: _kind(metric)}
    shown = [key for _, key, _ in _SHOWN if key != metric]
    ok = df[df["status"] == "ok"]
    if job.walk_forward:
        rows = df[df["role"].isin(["test", "oos"])]
        title = f"walk-forward {job.walk_forward}: each test window with its training's best"
    else:
        rows = ok[ok["role"].isin(["full", "window"])]
        rows = rows.sort_values(metric, ascending=metric in LOWER_IS_BETTER, kind="stable",
                                na_position="last").head(_TOP)
        title = f"top {len(rows)} of {len(df)} rows by {metric}"
    labels = {key: label for label, key, _ in _SHOWN}
    table = readable_table(
        *([Column("fold", justify="right", min_width=4)] if job.walk_forward else []),
        *(Column(p, justify="right", min_width=min(len(p), 12)) for p in job.params),
        *([Column("symbols", min_width=7)] if len(job.symbol_sets) > 1 else []),
        *([Column("window", no_wrap=True)] if job.windows or job.walk_forward else []),
        *(Column(labels.get(k, k), justify="right") for k in (metric, *shown)),
        title=title)
    for _, row in rows.iterrows():
        cells = []
        if job.walk_forward:
            cells.append("oos" if row["role"] == "oos" else str(row["fold"]))
        cells += ["" if _missing(row[p]) else str(row[p]) for p in job.params]
        if len(job.symbol_sets) > 1:
            cells.append(row["symbols"])
        if job.windows or job.walk_forward:
            cells.append(_span(row["window_start"], row["window_end"]))
        cells += [_number(row[k], kinds[k]) for k in (metric, *shown)]
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table)
    failed = df[df["status"] != "ok"]
    line = f"{len(df)} rows: {len(df) - len(failed)} ok, {len(failed)} failed; wrote {output}"
    if len(failed):
        line += f"\nfirst error (task {failed.iloc[0]['task']}): {failed.iloc[0]['error']}"
    console.print(line, markup=False, highlight=False)
    if metric in STAT_COLUMNS and len(ok):
        _overfitting(console, df, job)


def _span(start: str, end: str) -> str:
    """"2024-02-01..02-29" (the end's year shown only when it differs)."""
    return f"{start}..{end[5:] if end[:4] == start[:4] else end}"


def _kind(metric: str) -> str:
    from mismartera.trading.stats import STAT_ROWS

    return next((kind for _, key, kind in STAT_ROWS if key == metric), "num")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        str(value) == "<NA>")


def _overfitting(console: Any, df: Any, job: Any) -> None:
    """One line per tool against overfitting (mismartera.sweep.overfit)."""
    try:
        from mismartera.sweep.overfit import overfitting_summary
    except ImportError:  # pragma: no cover - a build without it
        return
    summary = overfitting_summary(df, list(job.params), job.rank)
    lines = []
    best = summary.get("best")
    if best:
        params = ", ".join(f"{k}={v}" for k, v in best["params"].items())
        lines.append(f"best grid point {params}: {job.rank} {_fmt(best['metric'])}, "
                     f"neighbourhood mean {_fmt(best['neighbourhood_mean'])}, "
                     f"worst neighbour {_fmt(best['neighbourhood_min'])}")
    dsr = summary.get("deflated_sharpe")
    if dsr:
        lines.append(f"deflated Sharpe ratio of the best of {dsr['n_trials']} trials: "
                     f"{_fmt(dsr['dsr'])} (probability its true Sharpe beats the expected "
                     f"maximum of luck)")
    pbo = summary.get("pbo")
    if pbo:
        if pbo.get("pbo") is None:
            lines.append(f"probability of backtest overfitting: - ({pbo.get('reason', '')})")
        else:
            lines.append(f"probability of backtest overfitting (CSCV, "
                         f"{pbo.get('combinations')} combinations): {_fmt(pbo['pbo'])}")
    if lines:
        console.print("against overfitting (docs/sweeps.md):\n  " + "\n  ".join(lines),
                      markup=False, highlight=False)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:,.3f}"
