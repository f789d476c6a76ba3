"""Slow, obviously-correct version of `mismartera.ext.indicator_bank.KernelBank`.

Each kernel is fed one row at a time through its own scalar `update` (tested against
tests/reference/kernels.py), in plain Python lists: the seed rows of each kernel are the
last `lookback` rows before the anchor day within its last `seed_days` days before it, then
every row from the anchor day on, not recorded; every session row is fed to every kernel,
in order, and recorded. A new session forgets the recorded values, and clears a
per-session kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAN = float("nan")
FIELDS = ("open", "high", "low", "close", "volume")


@dataclass
class Entry:
    kernel: Any
    fields: tuple[str, ...]
    lookback: int
    seed_days: int
    per_session: bool
    count: int = 0
    last: tuple[float, ...] = ()
    history: list[list[float]] = field(default_factory=list)

    def restart(self) -> None:
        self.kernel.reset()
        self.count = 0
        n_out = len(self.kernel.outputs)
        self.last = (NAN,) * n_out
        self.history = [[] for _ in range(n_out)]

    def push(self, row: dict[str, float], record: bool) -> None:
        out = self.kernel.update(*(row[f] for f in self.fields))
        self.last = tuple(out) if isinstance(out, tuple) else (out,)
        self.count += 1
        if record:
            for values, v in zip(self.history, self.last, strict=True):
                values.append(v)


def rows(columns: tuple[Any, ...]) -> list[dict[str, float]]:
    """(open, high, low, close, volume) columns as one dict per row."""
    return [dict(zip(FIELDS, map(float, values), strict=True))
            for values in zip(*columns, strict=True)]


class ReferenceBank:
    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def add(self, kernel: Any, fields: tuple[str, ...], lookback: int = 1,
            seed_days: int = 0, per_session: bool = False) -> int:
        entry = Entry(kernel, tuple(fields), max(lookback, 1),
                      0 if per_session else max(seed_days, 0), per_session)
        entry.restart()
        self.entries.append(entry)
        return len(self.entries) - 1

    def restart(self) -> None:
        for e in self.entries:
            e.restart()

    def new_session(self) -> None:
        for e in self.entries:
            if e.per_session:
                e.restart()
            e.history = [[] for _ in e.history]

    def seed(self, columns: tuple[Any, ...], day_index: list[int], anchor: int = -1) -> None:
        """`columns`: (open, high, low, close, volume) of the historical rows; `anchor`: the
        anchor day's position (-1: after the last day)."""
        days = len(day_index) - 1
        if days <= 0 or day_index[-1] <= 0:
            return
        anchor = days if anchor == -1 else anchor
        table = rows(columns)[:day_index[-1]]
        at = day_index[anchor]
        for e in self.entries:
            if e.seed_days <= 0:
                continue
            first = day_index[max(0, anchor - e.seed_days)]
            for row in table[max(first, at - e.lookback):]:
                e.push(row, record=False)

    def feed(self, columns: tuple[Any, ...]) -> None:
        for row in rows(columns):
            for e in self.entries:
                e.push(row, record=True)
