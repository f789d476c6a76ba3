"""The shell's command table: names, usage, one-line help, and how a line is split.

Kept apart from the handlers so that `help`, tab completion and the docs read one list.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass

from mismartera.errors import UserError


class ShellError(UserError):
    """A command the shell refuses: one sentence, the shell goes on."""


@dataclass(frozen=True)
class CommandSpec:
    words: tuple[str, ...]
    usage: str
    summary: str
    details: str = ""

    @property
    def name(self) -> str:
        return " ".join(self.words)


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(("system", "start"), "system start [SESSION.toml] [--speed N ...]",
                "start a backtest in the background (no file: the bundled demo)",
                "Reads SESSION.toml (or the demo config: SPY, January 2011) and applies the "
                "same flags as `mismartera backtest` given after it, e.g. "
                "`system start s.toml --speed 100`. Speed 0 runs as fast as the data allows; "
                "N runs N times real time, so at 100 a day of 1-minute bars takes about 4 "
                "minutes. Exports configured in the file or by flags are written as the "
                "backtest writes them."),
    CommandSpec(("system", "stop"), "system stop",
                "stop the running session cleanly (the current day ends at the clock)"),
    CommandSpec(("system", "status"), "system status",
                "mode, date, clock, speed, symbols, bars processed, components, outcome"),
    CommandSpec(("system", "wait"), "system wait [SECONDS]",
                "wait until the running session ends (or SECONDS pass), e.g. in scripts"),
    CommandSpec(("data", "session"), "data session [SYM ...]",
                "a table per symbol: intervals, bars, last bar, quality, gaps, indicators"),
    CommandSpec(("data", "add-symbol"), "data add-symbol SYM",
                "add a symbol to the running session at its next clock step",
                "The symbol gets the session's intervals, its trailing historical days, "
                "indicators and quality, and catches up to the clock."),
    CommandSpec(("data", "remove-symbol"), "data remove-symbol SYM",
                "remove a symbol from the running session at its next clock step"),
    CommandSpec(("indicator", "add"), "indicator add SPEC",
                "add an indicator to the running session at its next clock step",
                "SPEC as for --indicator, e.g. `indicator add sma:period=20@5m`: a known "
                "indicator, its parameters, and one of the session's streams. Every symbol "
                "gets it seeded exactly as at start-up (from the run's first session), "
                "caught up over today's closed bars: its values and export are those of a "
                "session that had it configured from the start."),
    CommandSpec(("export",), "export FILE [--delta]",
                "write a snapshot of the session (running or ended); format from the suffix",
                "FILE ends in .json, .csv or .parquet (or a suffix an exporter plugin adds). "
                "The snapshot holds the bars closed so far, quality, gaps and indicators. "
                "A .csv export writes one file per symbol and interval (out/s.csv: "
                "out/s.SPY.1m.csv, ...); every file written is named. --delta (JSON only) "
                "writes what changed since the previous .json export of this session: the "
                "bars closed since, replace_from on a series whose past was rewritten, the "
                "rest as of now (the first one is in full)."),
    CommandSpec(("report",), "report FILE",
                "write the HTML report of the session (running or ended)",
                "FILE is one self-contained page (plotly.js inlined, opens offline), as "
                "`mismartera report` builds from exports: the session day's summary, data "
                "quality and gaps, each symbol's candles with its indicators and, with a "
                "strategy, its trades, equity curve and statistics so far."),
    CommandSpec(("help",), "help [COMMAND]", "list the commands, or explain one"),
    CommandSpec(("quit",), "quit", "stop a running session cleanly and leave (also: exit, Ctrl-D)"),
)

ALIASES: dict[tuple[str, ...], tuple[str, ...]] = {("exit",): ("quit",)}
GROUPS = sorted({spec.words[0] for spec in COMMANDS if len(spec.words) > 1})
TOP_WORDS = sorted({spec.words[0] for spec in COMMANDS} | {a[0] for a in ALIASES})


def split(line: str) -> list[str]:
    """Shell-like words of a line; `#` starts a comment (handy in piped scripts)."""
    try:
        return shlex.split(line, comments=True)
    except ValueError as exc:  # unbalanced quotes
        raise ShellError(f"cannot read the command: {exc}") from None


def lookup(words: list[str]) -> tuple[CommandSpec, list[str]]:
    """The command a line names and its remaining arguments; ShellError with a hint if none."""
    for spec in COMMANDS:
        n = len(spec.words)
        if tuple(words[:n]) == spec.words:
            return spec, words[n:]
    for alias, target in ALIASES.items():
        if tuple(words[:len(alias)]) == alias:
            return find(target), words[len(alias):]
    head = words[0]
    if head in GROUPS:
        subs = [s.words[1] for s in COMMANDS if s.words[0] == head]
        if len(words) == 1:
            raise ShellError(f"`{head}` needs one of: {', '.join(subs)} (try `help {head}`)")
        near = difflib.get_close_matches(words[1], subs, n=1)
        hint = (f" (did you mean `{head} {near[0]}`?)" if near
                else f"; expected one of: {', '.join(subs)}")
        raise ShellError(f"unknown command `{head} {words[1]}`{hint}")
    near = difflib.get_close_matches(head, TOP_WORDS, n=1)
    hint = f" (did you mean `{near[0]}`?)" if near else ""
    raise ShellError(f"unknown command `{head}`{hint}; type `help` for the list")


def find(words: tuple[str, ...]) -> CommandSpec:
    return next(spec for spec in COMMANDS if spec.words == words)


def matching(prefix_words: list[str]) -> list[CommandSpec]:
    """Commands whose first words equal `prefix_words` (for `help data`)."""
    n = len(prefix_words)
    return [spec for spec in COMMANDS if list(spec.words[:n]) == prefix_words]
