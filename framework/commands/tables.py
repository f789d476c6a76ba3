"""Rich tables for the command line that stay readable in an 80-column terminal."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Column, Table


def readable_table(*columns: str | Column, **kwargs: Any) -> Table:
    """A table with light chrome whose cells wrap (long names fold) instead of being cut to
    `volume_sur…`; pass `Column(header, no_wrap=True)` for a column that must stay whole."""
    table = Table(*columns, box=box.SIMPLE_HEAD, pad_edge=False, **kwargs)
    for column in table.columns:
        column.overflow = "fold"
    return table
