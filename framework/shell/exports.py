"""The shell's `export` and `report` commands: write a snapshot of the running session.

Each takes the command's arguments and `require_run` (the shell's check that a session has
been started, asked only after the arguments are checked) and returns the line to say; a
bad argument or a file that cannot be written is a `ShellError`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mismartera.shell.commands import ShellError
from mismartera.shell.runner import SessionRun


def write_report(args: list[str], require_run: Callable[[], SessionRun]) -> str:
    """`report FILE`: the HTML report of the session as it is now."""
    from mismartera.export import snapshot
    from mismartera.report import ReportBuilder
    from mismartera.report import write_report as write_html

    if len(args) != 1 or args[0].startswith("-"):
        raise ShellError("usage: report FILE (e.g. report out/session.html)")
    path = Path(args[0]).expanduser()
    run = require_run()
    c = run.coordinator
    doc, _ = snapshot(c.session_data, c.calendar)
    builder = ReportBuilder()
    builder.add(doc, "the session")
    metrics = c.session_data.metrics
    builder.finish(doc, bars_read=metrics.bars_read if metrics is not None else None)
    model = builder.model(c.calendar)
    try:
        write_html(path, model)
    except OSError as exc:
        raise _cannot_write("report", path, exc) from None
    return f"wrote {path}: the report of {_session_said(doc)}"


def write_export(
    args: list[str], require_run: Callable[[], SessionRun], cursor: str | None
) -> tuple[str, str | None]:
    """`export FILE [--delta]`: the line to say and the cursor to keep (`cursor` is that of
    the last .json export of the run; a .json export replaces it)."""
    from mismartera.export import exporter_for, snapshot
    from mismartera.export import write_export as write_files

    delta = "--delta" in args
    args = [a for a in args if a != "--delta"]
    if len(args) != 1 or args[0].startswith("-"):
        raise ShellError("usage: export FILE [--delta] (e.g. export out/session.json)")
    path = Path(args[0]).expanduser()
    run = require_run()
    c = run.coordinator
    writer = exporter_for(path, c.plugins)  # an unknown suffix fails before the snapshot
    is_json = path.suffix.lower() == ".json"
    if delta and not is_json:
        raise ShellError(f"export {path}: --delta writes JSON only (a .json file)")
    since = cursor if delta else None
    doc, new_cursor = snapshot(c.session_data, c.calendar, timings=c.config.export_timings,
                               since=since)
    try:
        written = write_files(path, doc, c.plugins, write=writer.write)
    except OSError as exc:
        raise _cannot_write("export", path, exc) from None
    files = ", ".join(map(str, written)) or "no file"
    kind = ("" if not delta else ", a delta from the previous .json export"
            if since is not None else ", in full: no earlier .json export to follow")
    return f"wrote {files}: {_session_said(doc)}{kind}", (new_cursor if is_json else cursor)


def _cannot_write(command: str, path: Path, exc: OSError) -> ShellError:
    return ShellError(f"{command} {path}: cannot write the file "
                      f"({exc.strerror or type(exc).__name__})")


def _session_said(doc: dict) -> str:
    """"session 2024-01-02 (active), 2 symbols" of a snapshot."""
    session = doc["session"]
    state = "active" if session["active"] else "not active"
    n = len(doc["symbols"])
    return f"session {session['date']} ({state}), {n} symbol{'' if n == 1 else 's'}"
