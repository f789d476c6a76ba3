"""The one symbol rule, shared by every entry point (import, CLI, session file, shell,
`add_symbol`, scanners, the store).

A symbol is 1 to 32 characters of A-Z, 0-9 and `. - _ ^ =`, starting with a letter, a digit
or `^`, with no `..`; it is upper-cased and stripped first. That admits real tickers such as
BRK.B, BF-B, ^GSPC and ES=F, and refuses anything that could act as a path when a symbol
names a file (an exporter's `SYM_1m.csv`, a source's `SYM.csv`): no `/`, `\\`, leading `.`
or `..`.
"""

from __future__ import annotations

import re

from mismartera.errors import UserError

SYMBOL_RULE = (
    "1 to 32 characters of A-Z, 0-9, '.', '-', '_', '^' or '=', starting with a letter, "
    "a digit or '^', such as AAPL, BRK.B or ^GSPC"
)
_SYMBOL = re.compile(r"[A-Z0-9^][A-Z0-9.\-_^=]{0,31}")


def check_symbol(value: object, at: str = "symbol", error: type[Exception] = UserError) -> str:
    """`value` stripped and upper-cased, or `error("AT: expected ..., got VALUE")`."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if not _SYMBOL.fullmatch(text) or ".." in text:
        raise error(f"{at}: expected a symbol ({SYMBOL_RULE}), got {value!r}")
    return text
