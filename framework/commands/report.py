"""`mismartera report RUN -o report.html`."""

from __future__ import annotations

import click


@click.command()
@click.argument("run", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The HTML file to write (one self-contained page, works offline).")
@click.option("--max-points", type=click.IntRange(min=1), default=None,
              help="Bars embedded per symbol and interval (default 50000); a longer series "
                   "keeps its most recent days.")
def report(run: str, output: str, max_points: int | None) -> None:
    """Build the HTML report of a run from its exports: RUN is an export directory
    (--export-dir: its YYYY-MM-DD.json day files) or one JSON export."""
    from mismartera.report import MAX_POINTS, build_model, read_exports, write_report

    model = build_model(read_exports(run), max_points or MAX_POINTS)
    click.echo(f"wrote {write_report(output, model)}")
