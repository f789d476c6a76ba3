"""A sweep's result rows: one per task, journaled as each task ends and written to Parquet.

Every finished row is appended to a journal beside the output (`results.parquet.journal`, JSON
lines, flushed row by row), and the Parquet file is written whole (through duckdb, to a
temporary file moved over the output) every `every_rows` rows or `every_s` seconds and at the
end. A stopped sweep leaves its output and journal; `resume` reads both back, refuses them
when they were written by another sweep (another job fingerprint), and skips every task with
an "ok" row (tasks that failed are run again). A finished sweep leaves only the Parquet file.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mismartera.errors import ConfigError
from mismartera.sweep.plan import HEAD_COLUMNS, TAIL_COLUMNS, SweepJob, Task

if TYPE_CHECKING:
    import pandas as pd

JOURNAL_SUFFIX = ".journal"
JOURNAL_FORMAT = "mismartera.sweep.journal/1"

_TYPES = {
    "task": "VARCHAR", "job": "VARCHAR", "status": "VARCHAR", "error": "VARCHAR",
    "attempts": "INTEGER", "role": "VARCHAR", "fold": "INTEGER", "window_start": "VARCHAR",
    "window_end": "VARCHAR", "symbols": "VARCHAR", "trades": "BIGINT", "sessions": "INTEGER",
    "bars": "BIGINT", "worker": "VARCHAR", "daily_dates": "VARCHAR[]",
    "daily_returns": "DOUBLE[]", "trade_pnl": "DOUBLE[]", "equity_marks": "BIGINT",
}
"""Column types; every other fixed column is DOUBLE."""


def columns(job: SweepJob) -> list[str]:
    """The table's columns in order: the task's, one per grid parameter, the results'."""
    return [*HEAD_COLUMNS, *job.params, *TAIL_COLUMNS]


def _param_type(values: Iterable[Any]) -> str:
    values = list(values)
    if all(isinstance(v, bool) for v in values):
        return "BOOLEAN"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "BIGINT"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "DOUBLE"
    return "VARCHAR"


def column_types(job: SweepJob) -> dict[str, str]:
    """Column name -> duckdb type."""
    params = {name: _param_type(values) for name, values in job.grid}
    return {name: params.get(name) or _TYPES.get(name, "DOUBLE") for name in columns(job)}


def _clean(value: Any) -> Any:
    """JSON-safe: a non-finite float (in a list too) is None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def make_row(job: SweepJob, task: Task, result: Mapping[str, Any] | None, error: str | None,
             attempts: int) -> dict[str, Any]:
    """The row of a task that ended: its result fields, or its error."""
    row = dict.fromkeys(columns(job))
    row.update(task=task.id, job=job.fingerprint, status="ok" if error is None else "error",
               error=error, attempts=attempts, role=task.role, fold=task.fold,
               window_start=task.start, window_end=task.end, symbols=",".join(task.symbols))
    row.update({k: v for k, v in task.params if k in row})
    if result is not None:
        row.update({k: _clean(result.get(k)) for k in TAIL_COLUMNS})
    return row


def _select(types: Mapping[str, str], source: str) -> str:
    spec = ", ".join(f"{json.dumps(n)}: '{t}'" for n, t in types.items())
    names = ", ".join(json.dumps(n) for n in types)
    return (f"SELECT {names} FROM read_json({source}, format='newline_delimited', "
            f"columns={{{spec}}})")


class Results:
    """The rows of one sweep (task id -> row), kept in memory, journaled beside `output` and
    written to it (no files at all when `output` is None). Rows are written in plan order
    (`expect`)."""

    def __init__(self, job: SweepJob, output: str | Path | None = None, resume: bool = False,
                 every_rows: int = 200, every_s: float = 30.0) -> None:
        self.job = job
        self.output = None if output is None else Path(output)
        self.journal = None if self.output is None else Path(f"{self.output}{JOURNAL_SUFFIX}")
        self.resume = resume
        self.every_rows, self.every_s = every_rows, every_s
        self.rows: dict[str, dict[str, Any]] = {}
        self.order: dict[str, int] = {}
        self._types = column_types(job)
        self._fh: Any = None
        self._unwritten = 0
        self._written_at = time.monotonic()

    # --- opening ---------------------------------------------------------------------------

    def check(self) -> None:
        """Refuse, before anything is written: an unfinished sweep's output without `resume`,
        or (with `resume`) an output or journal of another sweep."""
        if self.output is None or self.journal is None:
            return
        if self.output.is_dir():
            raise ConfigError(f"-o {self.output}: is a directory, expected a .parquet file")
        if not self.resume:
            if self.journal.exists():
                raise ConfigError(f"-o {self.output}: an unfinished sweep's journal "
                                  f"{self.journal.name} is beside it; pass --resume to go on "
                                  f"with it, or remove both files to start again")
            return
        self.rows = {**self._read_output(), **self._read_journal()}

    def _refuse(self, where: Path, theirs: Any) -> ConfigError:
        return ConfigError(f"{where}: written by another sweep (job {theirs}, this one is "
                           f"{self.job.fingerprint}); --resume goes on with the same session "
                           f"file, grid, symbols, windows and walk-forward only")

    def _read_output(self) -> dict[str, dict[str, Any]]:
        assert self.output is not None
        if not self.output.exists():
            return {}
        import duckdb

        con = duckdb.connect()
        try:
            cursor = con.execute("SELECT * FROM read_parquet(?)", [str(self.output)])
            names = [d[0] for d in cursor.description]
            fetched = cursor.fetchall()
        except duckdb.Error as exc:
            raise ConfigError(f"{self.output}: cannot be read as a sweep's results "
                              f"({str(exc).splitlines()[0]})") from None
        finally:
            con.close()
        if "job" not in names or "task" not in names:
            raise ConfigError(f"{self.output}: not a sweep's results (no task and job columns)")
        rows = {}
        for values in fetched:
            row = dict(zip(names, values, strict=True))
            if row["job"] != self.job.fingerprint:
                raise self._refuse(self.output, row["job"])
            rows[row["task"]] = {name: row.get(name) for name in self._types}
        return rows

    def _read_journal(self) -> dict[str, dict[str, Any]]:
        assert self.journal is not None
        if not self.journal.exists():
            return {}
        rows = {}
        with self.journal.open(encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        for i, line in enumerate(lines):
            try:
                record = json.loads(line)
            except ValueError:
                if i >= len(lines) - 2:  # a last line cut short when the sweep was killed
                    continue
                raise ConfigError(f"{self.journal}: line {i + 1} is not a JSON row") from None
            theirs = record.get("job")
            if theirs != self.job.fingerprint:
                raise self._refuse(self.journal, theirs)
            if "task" in record:
                rows[record["task"]] = {name: record.get(name) for name in self._types}
        return rows

    def done(self) -> set[str]:
        """The ids of tasks with an "ok" row (a resumed sweep skips them)."""
        return {tid for tid, row in self.rows.items() if row["status"] == "ok"}

    # --- adding ----------------------------------------------------------------------------

    def expect(self, tasks: Iterable[Task | str]) -> None:
        """Tasks in the order their rows are written (after those expected before)."""
        for task in tasks:
            self.order.setdefault(task if isinstance(task, str) else task.id, len(self.order))

    def add(self, row: dict[str, Any]) -> None:
        """A finished row: kept, journaled, and the output rewritten when it is due."""
        self.rows[row["task"]] = row
        if self.journal is None:
            return
        if self._fh is None:
            self._fh = self.journal.open("a", encoding="utf-8")
            if self._fh.tell() == 0:
                self._fh.write(json.dumps({"format": JOURNAL_FORMAT,
                                           "job": self.job.fingerprint}) + "\n")
        self._fh.write(json.dumps(row, separators=(",", ":")) + "\n")
        self._fh.flush()
        self._unwritten += 1
        if self._unwritten >= self.every_rows or (
                time.monotonic() - self._written_at >= self.every_s):
            self.write()

    # --- writing ---------------------------------------------------------------------------

    def ordered(self) -> list[dict[str, Any]]:
        """The rows in plan order (rows of tasks not expected last, by id)."""
        last = len(self.order)
        return sorted(self.rows.values(),
                      key=lambda r: (self.order.get(r["task"], last), r["task"]))

    def _query(self, folder: str) -> str:
        """Write the rows to a JSON-lines file in `folder`; the query reading them typed."""
        source = Path(folder) / "rows.jsonl"
        with source.open("w", encoding="utf-8") as fh:
            for row in self.ordered():
                fh.write(json.dumps(row, separators=(",", ":")) + "\n")
        return _select(self._types, "'" + str(source).replace("'", "''") + "'")

    def frame(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame, typed as in the Parquet file."""
        import duckdb

        con = duckdb.connect()
        try:
            with tempfile.TemporaryDirectory(prefix="mismartera-sweep-") as folder:
                return con.execute(self._query(folder)).df()
        finally:
            con.close()

    def write(self) -> None:
        """Write every row to the output, atomically (a temporary file moved over it)."""
        self._unwritten, self._written_at = 0, time.monotonic()
        if self.output is None:
            return
        import duckdb

        target = self.output
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        con = duckdb.connect()
        try:
            with tempfile.TemporaryDirectory(prefix="mismartera-sweep-") as folder:
                query = self._query(folder)
                con.execute(f"COPY ({query}) TO ? (FORMAT parquet)", [str(tmp)])
            os.replace(tmp, target)
        finally:
            con.close()
            tmp.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the journal (the rows stay in it: an unfinished sweep)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def finish(self) -> None:
        """The sweep is done: write the output, remove the journal."""
        self.write()
        self.close()
        if self.journal is not None:
            self.journal.unlink(missing_ok=True)


__all__ = ["JOURNAL_SUFFIX", "Results", "column_types", "columns", "make_row"]
