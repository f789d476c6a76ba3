"""Phase 0 of the streams: which interval the source streams for a symbol (the base) so that
every requested interval is built from it, and which symbols `list = "all"` selects."""

from __future__ import annotations

from collections.abc import Sequence

from mismartera.config import SessionConfig
from mismartera.errors import ConfigError, DataError, UserError
from mismartera.intervals import Interval
from mismartera.sources import DataSource


def stream_plan(symbol: str, requested: Sequence[Interval], available: Sequence[Interval],
                source_name: str) -> Interval:
    """Phase 0 for one symbol: the base (streamed) interval; every requested interval is
    built from it.

    The base is the largest interval the source has from which every requested interval
    derives (a whole multiple of it, or `1d` from intraday): a requested interval the source
    has is streamed as it is; otherwise the base is internal (`5m` alone on a `1m` source
    streams `1m` and shows `5m`). `1w` is refused: a session's bars never span sessions."""
    if not available:
        raise DataError(f"{symbol}: source {source_name!r} has no data for this symbol")
    has = ", ".join(map(str, sorted(available)))
    valid = ", ".join(i.name for i in map(Interval.parse, Interval.SUPPORTED)
                      if i.name != "1w" and any(i.derivable_from(a) for a in available))
    wanted = ", ".join(map(str, sorted(requested)))
    weekly = [i for i in requested if i.name == "1w"]
    if weekly:
        raise DataError(f"{symbol}: interval 1w cannot be a stream (a session's bars never "
                        f"span sessions); with source {source_name!r} ({has}) the valid "
                        f"intervals are {valid}")
    bases = [b for b in available if all(i.derivable_from(b) for i in requested)]
    if not bases:
        raise DataError(f"{symbol}: no interval that source {source_name!r} has ({has}) builds "
                        f"all of {wanted}; the valid intervals are {valid}")
    return max(bases)


def all_symbols(config: SessionConfig, source: DataSource) -> tuple[str, ...]:
    """`[symbols] list = "all"`: every symbol the source has whose intervals build the
    streams (a base interval `stream_plan` accepts), in the source's order."""
    found = []
    for symbol in source.symbols():
        try:
            stream_plan(symbol, list(config.intervals), source.intervals(symbol), source.name)
        except UserError:
            continue
        found.append(symbol)
    if not found:
        raise ConfigError(f"{config.where('symbols')}: \"all\" found no symbol in source "
                          f"{source.name!r} with data that builds "
                          f"{', '.join(i.name for i in config.intervals)}")
    return tuple(found)


__all__ = ["all_symbols", "stream_plan"]
