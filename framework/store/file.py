"""The store's file: where it may be, whether it is whole, and what DuckDB's errors about it
mean, each as one sentence.

- a store path that is a folder, or whose folder is a file, is refused (exit 2);
- a file that is not a DuckDB database, or is damaged or truncated, "is not a valid
  mismartera store" (exit 2), never "in use": DuckDB's own words for damage ("block",
  "checksum") are not mistaken for a lock;
- a file locked by another process is waited for (`MISMARTERA_LOCK_WAIT` seconds, 5 by
  default), then a `RunError` (exit 1);
- a full disk is a `RunError` naming the store.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mismartera.errors import DataError, RunError, UserError

if TYPE_CHECKING:
    import duckdb

LOCK_WAIT_S = 5.0
_RETRY_S = 0.1
_HEADER = 4096  # DuckDB: a main header and two database headers, 4 KiB each, then blocks
_LOCKED = ("could not set lock", "conflicting lock")
_FULL = ("no space left on device", "disk full", "disk is full")
_DAMAGED = ("corrupt", "not a valid duckdb database", "could not read enough bytes", "checksum",
            "failed to read", "invalid database", "serialization")


def check_path(path: Path, home: str | None) -> None:
    """Refuse a store path that cannot be a file: a folder, or inside a file. `home` is the
    MISMARTERA_HOME the path came from (None for a path given explicitly)."""
    if home is not None and path.parent.exists() and not path.parent.is_dir():
        raise UserError(f"MISMARTERA_HOME={home} is a file: expected a folder to hold bars.duckdb")
    if path.is_dir():
        raise DataError(f"store {path} is a folder: expected a store file such as "
                        f"{path / 'bars.duckdb'}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DataError(f"store {path}: {parent} is a file, not a folder")
            break


def check_whole(path: Path) -> None:
    """DataError when the file is not a DuckDB database or is shorter than its header says
    (a truncated copy); a file DuckDB has not written a header to yet passes."""
    try:
        with path.open("rb") as f:
            head = f.read(3 * _HEADER)
            size = os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise DataError(f"cannot read store {path}: {exc.strerror or exc}") from None
    if size == 0:
        return
    if len(head) < 3 * _HEADER or head[8:12] != b"DUCK":
        raise DataError(f"{path} is not a valid mismartera store (not a DuckDB database file)")
    headers = [struct.unpack_from("<8Q", head, off) for off in (_HEADER, 2 * _HEADER)]
    _, _, _, _, blocks, block_size, _, _ = max(headers, key=lambda h: h[1])  # newest
    if not 4096 <= block_size <= 1 << 30 or blocks > 1 << 40:
        return  # a layout this check does not know: leave it to DuckDB
    want = 3 * _HEADER + blocks * block_size
    if size < want:
        raise DataError(f"{path} is not a valid mismartera store: the file is truncated "
                        f"({size} bytes, its header needs {want})")


def connect(path: Path, read_only: bool, wait_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to the file, waiting up to `wait_s` seconds (default
    MISMARTERA_LOCK_WAIT, else 5) while another process holds it."""
    import duckdb

    if wait_s is None:
        wait_s = lock_wait()
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not _has(exc, _LOCKED) or time.monotonic() >= deadline:
                raise meaning(exc, path, opening=True) from None
        time.sleep(_RETRY_S)


def lock_wait() -> float:
    """Seconds to wait for a locked store: MISMARTERA_LOCK_WAIT, else 5."""
    text = os.environ.get("MISMARTERA_LOCK_WAIT", "").strip()
    try:
        return max(0.0, float(text)) if text else LOCK_WAIT_S
    except ValueError:
        raise UserError(f"MISMARTERA_LOCK_WAIT={text!r}: expected a number of seconds") from None


def meaning(exc: Exception, path: Path, *, opening: bool = False) -> Exception:
    """A DuckDB error about the store as one sentence: a lock, a full disk, a damaged file;
    else (when opening) a plain "cannot open", or the error itself."""
    text = _first_line(exc)
    if _has(exc, _LOCKED):
        holder = text.partition("(PID ")[2].partition(")")[0]
        by = f" (PID {holder})" if holder.isdigit() else ""
        return RunError(f"store {path} is in use by another process{by}: try again when it "
                        "has finished")
    if _has(exc, _FULL):
        return RunError(f"cannot write store {path}: no space left on device; nothing was "
                        "stored")
    if _has(exc, _DAMAGED):
        return DataError(f"{path} is not a valid mismartera store: the file is damaged ({text})")
    if opening:
        return DataError(f"cannot open store {path}: {text}")
    return exc


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _has(exc: Exception, words: tuple[str, ...]) -> bool:
    low = _first_line(exc).lower()
    return any(w in low for w in words)
