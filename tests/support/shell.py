"""Shared by the shell tests: a session file, a string-backed `Shell`, a clock-holding `Gate`."""

from __future__ import annotations

import datetime
import io
import queue
import threading
from pathlib import Path

from rich.console import Console

from mismartera.shell import ShellApp
from tests.support.engine import plugins

DAY = datetime.date(2014, 12, 1)

SESSION_TOML = """\
[session]
start = {start}
end = {end}
speed = {speed}

[data]
source = "synthetic"
seed = 7
count = 2
gap_rate = 0.02
extended_hours = true

[symbols]
list = [{symbols}]

[streams]
intervals = ["1m", "5m", "15m", "1h"]

[historical]
trailing_days = 2
"""


def write_session(folder: Path, name: str = "s.toml", *, start: str = "2014-12-01",
                  end: str = "2014-12-02", speed: float = 0, symbols=("SYN0",)) -> Path:
    path = folder / name
    quoted = ", ".join(f'"{s}"' for s in symbols)
    path.write_text(SESSION_TOML.format(start=start, end=end, speed=speed, symbols=quoted))
    return path


class Gate:
    """An observer that holds the session's clock at each of `times` (ns) until released."""

    def __init__(self, *times: int) -> None:
        self.times = sorted(times)
        self.reached: queue.Queue[int] = queue.Queue()
        self._go = threading.Semaphore(0)

    def on_bar(self, ctx, symbol, interval, bar) -> None:
        if self.times and ctx.now_ns >= self.times[0]:
            self.times.pop(0)
            self.reached.put(ctx.now_ns)
            self._go.acquire(timeout=30)

    def wait(self) -> int:
        """The clock time at which the session is now held."""
        return self.reached.get(timeout=30)

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            self._go.release()


class Shell:
    """A ShellApp writing to strings; `run(line)` returns (ok, stdout, stderr) of one line."""

    def __init__(self, observers=(), **kwargs) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.app = ShellApp(
            plugins(),
            console=Console(file=self.out, width=200, color_system=None, highlight=False),
            err_console=Console(file=self.err, width=200, color_system=None, highlight=False),
            make_observers=lambda: list(observers), **kwargs)

    def run(self, line: str) -> tuple[bool, str, str]:
        o, e = len(self.out.getvalue()), len(self.err.getvalue())
        ok = self.app.execute(line)
        return ok, self.out.getvalue()[o:], self.err.getvalue()[e:]
