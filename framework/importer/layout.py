"""Header and column matching for bar files: which columns hold the stamp and the values.

Column names are matched case-insensitively (surrounding spaces and quotes ignored); the stamp
is the first of `timestamp`, `datetime`, `date` (with `time` beside `date`, the two
together; Parquet may also name it `ts`), then `open, high, low, close, volume`; other
columns are ignored. A missing or repeated column is a DataError naming the file and what is
expected.
"""

from __future__ import annotations

from dataclasses import dataclass

from mismartera.errors import DataError

VALUE_NAMES = ("open", "high", "low", "close", "volume")
TIME_NAMES = ("timestamp", "datetime", "date")
COLUMNS = "timestamp|datetime|date(+time), open, high, low, close, volume"
EXPECTED_COLUMNS = f"expected {COLUMNS}"


@dataclass(frozen=True)
class Layout:
    """Where the needed columns are: positions in the header / Parquet schema."""

    names: tuple[str, ...]
    stamp: tuple[int, ...]  # one column, or date + time
    values: dict[str, int]
    symbol: int | None = None
    kind: str = "bars"  # or "ticks", "quotes": the value columns' kind

    @property
    def expected(self) -> str:
        return expected_columns(self.kind)

    @property
    def stamp_label(self) -> str:
        return " + ".join(f"'{self.names[i]}'" for i in self.stamp)

    def stamp_noun(self) -> str:
        if len(self.stamp) == 2:
            return f"a date and time in columns {self.stamp_label}"
        name = self.names[self.stamp[0]].strip().lower()
        return f"a {'date' if name == 'date' else 'timestamp'} in column {self.stamp_label}"


KIND_VALUES: dict[str, tuple[str, ...]] = {
    "bars": VALUE_NAMES,
    "ticks": ("price", "size"),
    "quotes": ("bid", "bid_size", "ask", "ask_size"),
}


def expected_columns(kind: str) -> str:
    """"expected timestamp|..., <the kind's value columns>"."""
    if kind == "bars":
        return EXPECTED_COLUMNS
    return f"expected timestamp|datetime|date(+time), {', '.join(KIND_VALUES[kind])}"


def match_columns(names: list[str], where: str, *, parquet: bool = False,
                  kind: str = "bars") -> Layout:
    """The layout of a header (or Parquet schema) `names` for `kind` records (bars, ticks
    or quotes); DataError prefixed with `where` when a needed column is missing or repeated."""
    value_names = KIND_VALUES[kind]
    expected = expected_columns(kind)
    lower = [n.strip().strip('"').strip().lower() for n in names]
    index: dict[str, int] = {}
    for i, n in enumerate(lower):
        if n in index and n in (*TIME_NAMES, *value_names, "time", "ts", "symbol"):
            raise DataError(f"{where}: column '{n}' appears twice in the header")
        index.setdefault(n, i)
    time_names = ("ts", *TIME_NAMES) if parquet else TIME_NAMES
    found = [n for n in time_names if n in index]
    known = set(found) | {n for n in (*value_names, "time") if n in index}
    if not known:
        shown = ", ".join(f"'{n}'" for n in names[:8]) or "none"
        raise DataError(f"{where}: no known column in the header (found {shown}): "
                        f"{expected}")
    if not found:
        raise DataError(f"{where}: no time column: {expected}")
    first = found[0]
    stamp: tuple[int, ...] = (index[first],)
    if first == "date" and "time" in index:
        stamp = (index["date"], index["time"])
    missing = [n for n in value_names if n not in index]
    if missing:
        raise DataError(f"{where}: column '{missing[0]}' missing: {expected}")
    symbol = index.get("symbol") if parquet else None
    return Layout(tuple(names), stamp, {n: index[n] for n in value_names}, symbol, kind)
