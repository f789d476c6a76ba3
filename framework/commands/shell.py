"""`mismartera shell`: talk to a running session (see docs/shell.md)."""

from __future__ import annotations

import click


@click.command()
@click.pass_context
def shell(ctx: click.Context) -> None:
    """Interactive shell: system start|stop|status|wait, data session, data add-symbol SYM,
    data remove-symbol SYM, export FILE, help, quit.

    Commands can also be piped in, one per line; the exit status is then 0, 2 when a command
    was rejected (bad command, config or input), or 1 when something failed while running.
    """
    from mismartera.cli import App, debugging
    from mismartera.shell import ShellApp, run_shell

    app = ctx.ensure_object(App)
    code = run_shell(ShellApp(app.plugins, debug=debugging(ctx)))
    ctx.exit(code)
