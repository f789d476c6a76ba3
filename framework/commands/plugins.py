"""`mismartera plugins`: every registered source, indicator, exporter, scanner and command."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List every plugin-registered object with its plugin, distribution, version and hooks,
    and every plugin that failed to load."""
    from mismartera.cli import App

    app = ctx.ensure_object(App)
    root = ctx.find_root().command
    if isinstance(root, click.Group):
        app.plugin_commands(root)  # make sure plugin commands are registered too
    rows = app.plugins.describe()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Column

    from mismartera.commands.tables import readable_table

    console = Console()
    wide = console.width >= _HOOKS_FROM  # the hooks column only where it fits unbroken
    table = readable_table(Column("name", no_wrap=True), "kind", Column("plugin", no_wrap=True),
                           "distribution", *(["hooks"] if wide else []))
    for row in rows:
        cells = [row["name"], row["kind"], row["plugin"],
                 f"{row['distribution']} {row['version']}"]
        if wide:
            cells.append(", ".join(row["hooks"]) or row["description"])
        table.add_row(*cells)
    console.print(table)


_HOOKS_FROM = 110
"""Terminal columns from which `mismartera plugins` shows each plugin's hooks (`--json`
always has them)."""
