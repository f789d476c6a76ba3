"""`mismartera report RUN... -o report.html`."""

from __future__ import annotations

import click

from mismartera.errors import ConfigError


@click.command()
@click.argument("runs", metavar="RUN...", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The HTML file to write (one self-contained page, works offline).")
@click.option("--max-points", type=click.IntRange(min=1), default=None,
              help="Bars embedded per symbol and interval at most (default 50000); a longer "
                   "series keeps its most recent days.")
@click.option("--max-bars", type=click.IntRange(min=1), default=None,
              help="Bars embedded in the whole page (default 200000), given out from the "
                   "coarsest interval to the finest (see docs/report.md).")
@click.option("--rank", default="sharpe", show_default=True,
              help="A sweep's page: the metric of the heatmap, the best row and the top table.")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True,
              help="A sweep's page: the rows of the top table.")
def report(runs: tuple[str, ...], output: str, max_points: int | None,
           max_bars: int | None, rank: str, top: int) -> None:
    """Build the HTML report of a run from its exports: RUN is an export directory
    (--export-dir: its YYYY-MM-DD.json day files) or one JSON export. Several RUNs give
    one page comparing them: equity curves together, statistics side by side, the data
    quality of each. A sweep's results (`mismartera sweep -o results.parquet`) give the
    sweep's page: parameter heatmaps, overfitting figures, top rows, walk-forward."""
    from mismartera.commands.sweep_page import is_parquet

    sweeps = [r for r in runs if is_parquet(r)]
    if sweeps:
        if len(runs) > 1:
            raise ConfigError(f"{sweeps[0]} is a sweep's results: it makes a page of its own "
                              f"(mismartera report {sweeps[0]} -o sweep.html)")
        from mismartera.commands.sweep_page import sweep_page
        from mismartera.report import write_report

        click.echo(f"wrote {write_report(output, sweep_page(runs[0], rank, top))}")
        return

    from mismartera.report import MAX_BARS, MAX_POINTS, build_model, read_exports, write_report
    from mismartera.report.compare import compare_model

    def one(run: str) -> dict:
        return build_model(read_exports(run), max_points or MAX_POINTS,
                           max_bars=max_bars or MAX_BARS)

    model = one(runs[0]) if len(runs) == 1 else compare_model([(r, one(r)) for r in runs])
    click.echo(f"wrote {write_report(output, model)}")
