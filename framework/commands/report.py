"""`mismartera report RUN... -o report.html`."""

from __future__ import annotations

import click


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
def report(runs: tuple[str, ...], output: str, max_points: int | None,
           max_bars: int | None) -> None:
    """Build the HTML report of a run from its exports: RUN is an export directory
    (--export-dir: its YYYY-MM-DD.json day files) or one JSON export. Several RUNs give
    one page comparing them: equity curves together, statistics side by side, the data
    quality of each."""
    from mismartera.report import MAX_BARS, MAX_POINTS, build_model, read_exports, write_report
    from mismartera.report.compare import compare_model

    def one(run: str) -> dict:
        return build_model(read_exports(run), max_points or MAX_POINTS,
                           max_bars=max_bars or MAX_BARS)

    model = one(runs[0]) if len(runs) == 1 else compare_model([(r, one(r)) for r in runs])
    click.echo(f"wrote {write_report(output, model)}")
