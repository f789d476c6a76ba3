"""Cash, positions, round-trip trades and the equity curve.

Fills change cash and positions; between two fills a symbol's position is constant, so
`mark` records a whole chunk of closes in one vector expression. The equity curve is
assembled on demand on the union of every symbol's mark times:

    equity(t) = cash(t) + sum over symbols of position(t) x last close at or before t

where cash(t) includes every fill on a bar closing at or before t. Symbols may be marked
chunk by chunk in any order across symbols (each in its own time order): the curve is the
same. Identity kept at every moment: equity = cash_start + realized + unrealized - costs.

A trade is a round trip of one symbol: opened when the position leaves zero, grown at the
average price, and closed (a record per reducing fill, for the quantity it closes). Its
`costs` are its share of the entry costs, the exit costs and the borrow cost it paid; its
`pnl` is net of them. An open trade has no exit and is valued at the last close.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from mismartera.trading.orders import QTY_EPS, Fill, Side

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

OPEN_NS = np.iinfo(np.int64).max
"""`exit_ts` of an open trade in the columnar table (None in dicts)."""

TRADE_COLUMNS = (
    "symbol",
    "side",
    "qty",
    "entry_ts",
    "entry_price",
    "exit_ts",
    "exit_price",
    "pnl",
    "costs",
    "entry_quality",
    "exit_quality",
)


class Trade:
    """A round trip (or the part of one that a fill closed)."""

    __slots__ = (
        "costs",
        "entry_price",
        "entry_quality",
        "entry_ts",
        "exit_price",
        "exit_quality",
        "exit_seq",
        "exit_ts",
        "pnl",
        "qty",
        "side",
        "symbol",
    )

    def __init__(
        self, symbol: str, side: str, qty: float, entry: Fill | Trade, costs: float
    ) -> None:
        """Open at `entry` (a fill, or the open trade a closing record splits from)."""
        self.symbol, self.side, self.qty, self.costs = symbol, side, qty, costs
        if isinstance(entry, Fill):
            self.entry_ts, self.entry_price = entry.ts, entry.price
            self.entry_quality = entry.quality
        else:
            self.entry_ts, self.entry_price = entry.entry_ts, entry.entry_price
            self.entry_quality = entry.entry_quality
        self.exit_ts, self.exit_price, self.exit_quality = OPEN_NS, math.nan, math.nan
        self.exit_seq = OPEN_NS
        self.pnl = math.nan

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1


class Position:
    """A symbol's holding: signed quantity, average entry price, last close, open trade."""

    __slots__ = ("avg_price", "last_close", "qty", "trade")

    def __init__(self) -> None:
        self.qty = 0.0
        self.avg_price = math.nan
        self.last_close = math.nan
        self.trade: Trade | None = None

    @property
    def value(self) -> float:
        return self.qty * self.last_close if self.qty else 0.0


class _Marks:
    """A symbol's marks (chunks of close times and closes) and the position it held after
    each change (a fill's bar close time and the quantity from then on)."""

    __slots__ = ("change_qty", "change_ts", "closes", "times")

    def __init__(self) -> None:
        self.times: list[I64] = []
        self.closes: list[F64] = []
        self.change_ts: list[int] = []
        self.change_qty: list[float] = []

    def arrays(self) -> tuple[I64, F64, F64]:
        """(times, closes, positions), one entry per mark: the position after the last
        change at or before the mark (0 before the first)."""
        times = np.concatenate(self.times) if self.times else np.empty(0, np.int64)
        closes = np.concatenate(self.closes) if self.closes else np.empty(0, np.float64)
        held = np.concatenate(([0.0], np.asarray(self.change_qty, dtype=np.float64)))
        at = np.searchsorted(np.asarray(self.change_ts, dtype=np.int64), times, side="right")
        return times, closes, held[at]


class Portfolio:
    """Cash and positions of one run, starting with `cash`."""

    def __init__(self, cash: float) -> None:
        if not math.isfinite(cash):
            raise ValueError(f"the starting cash must be a finite number, got {cash!r}")
        self.cash_start = float(cash)
        self.cash = float(cash)
        self.realized = 0.0
        self.costs = 0.0
        self.positions: dict[str, Position] = {}
        self._closed: list[Trade] = []
        self._cash_ts: list[int] = []
        self._cash_delta: list[float] = []
        self._marks: dict[str, _Marks] = {}
        self._session_ts: list[int] = []
        self._session_equity: list[float] = []

    def position(self, symbol: str) -> Position:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position()
        return pos

    @property
    def equity(self) -> float:
        """Cash plus every position at its last close."""
        return self.cash + sum(p.value for p in self.positions.values())

    def apply(self, fill: Fill, close_ns: int) -> None:
        """Book `fill`, which happened in a bar closing at `close_ns`."""
        signed = fill.qty * fill.side.sign
        self._cash(close_ns, -signed * fill.price - fill.costs)
        self.costs += fill.costs
        pos = self.position(fill.symbol)
        closing = min(fill.qty, abs(pos.qty)) if pos.qty * signed < 0 else 0.0
        if closing > 0:
            self._close(pos, fill, closing)
            if abs(pos.qty) <= QTY_EPS:
                pos.qty, pos.avg_price, pos.trade = 0.0, math.nan, None
        opening = fill.qty - closing
        if opening > QTY_EPS:
            self._open(pos, fill, opening)
        marks = self._marks_of(fill.symbol)
        marks.change_ts.append(close_ns)
        marks.change_qty.append(pos.qty)

    def charge(self, symbol: str, amount: float, ns: int) -> None:
        """Pay a cost of holding `symbol` (borrow) at `ns`; it belongs to the open trade."""
        self._cash(ns, -amount)
        self.costs += amount
        trade = self.position(symbol).trade
        if trade is not None:
            trade.costs += amount

    def mark(self, symbol: str, close_ts: I64, closes: F64) -> None:
        """Mark `symbol` at consecutive bar closes later than its earlier marks (the arrays
        are kept: pass ones nothing else changes); the position at each is the one after
        the last fill on a bar closing at or before it."""
        if len(close_ts) == 0:
            return
        marks = self._marks_of(symbol)
        marks.times.append(close_ts)
        marks.closes.append(closes)
        self.position(symbol).last_close = float(closes[-1])

    def _marks_of(self, symbol: str) -> _Marks:
        marks = self._marks.get(symbol)
        if marks is None:
            marks = self._marks[symbol] = _Marks()
        return marks

    def close_session(self, close_ns: int) -> None:
        """Record the equity at a session close (the daily series statistics use)."""
        self._session_ts.append(close_ns)
        self._session_equity.append(self.equity)

    @property
    def unrealized(self) -> float:
        return sum((p.last_close - p.avg_price) * p.qty for p in self.positions.values() if p.qty)

    def daily_equity(self) -> tuple[I64, F64]:
        """(session close times, equity at each) in the order sessions ended."""
        return (
            np.asarray(self._session_ts, dtype=np.int64),
            np.asarray(self._session_equity, dtype=np.float64),
        )

    def equity_curve(self) -> tuple[I64, F64, npt.NDArray[np.bool_]]:
        """(mark times, equity, any position held) on the union of all symbols' marks."""
        marked = {s: m.arrays() for s, m in sorted(self._marks.items()) if m.times}
        if not marked:
            empty = np.empty(0, np.int64)
            return empty, np.empty(0, np.float64), np.empty(0, np.bool_)
        grid = _union([t for t, _, _ in marked.values()])
        equity = self._cash_at(grid)
        exposed = np.zeros(len(grid), dtype=np.bool_)
        for times, closes, positions in marked.values():
            at = np.searchsorted(times, grid, side="right") - 1
            seen = at >= 0
            held = np.where(seen, positions[at], 0.0)
            equity += np.where(seen, held * closes[at], 0.0)
            exposed |= held != 0.0
        return grid, equity, exposed

    def trades(self) -> dict[str, np.ndarray]:
        """Every trade, closed and open, as columns (see TRADE_COLUMNS), in a fixed order."""
        rows = sorted(
            self._closed + self._open_trades(),
            key=lambda t: (t.entry_ts, t.symbol, t.exit_ts, t.exit_seq),
        )
        table: dict[str, np.ndarray] = {}
        for name in TRADE_COLUMNS:
            values = [getattr(t, name) for t in rows]
            if name in ("symbol", "side"):
                table[name] = np.asarray(values, dtype=np.str_)
            else:
                kind = np.int64 if name.endswith("_ts") else np.float64
                table[name] = np.asarray(values, dtype=kind)
        return table

    def trade_dicts(self) -> list[dict[str, object]]:
        """The trades as JSON-ready dicts; an open trade has None for its exit."""
        table = self.trades()
        out = []
        for i in range(len(table["qty"])):
            row: dict[str, object] = {name: table[name][i].item() for name in TRADE_COLUMNS}
            if row["exit_ts"] == OPEN_NS:
                row["exit_ts"] = row["exit_price"] = None
            for name in ("entry_quality", "exit_quality"):
                if math.isnan(row[name]):  # type: ignore[arg-type]
                    row[name] = None
            out.append(row)
        return out

    def _open_trades(self) -> list[Trade]:
        """Open trades, valued at the last close (pnl net of the costs paid so far)."""
        trades = []
        for pos in self.positions.values():
            if pos.trade is not None:
                t = pos.trade
                t.pnl = (pos.last_close - t.entry_price) * t.qty * t.sign - t.costs
                trades.append(t)
        return trades

    def _open(self, pos: Position, fill: Fill, qty: float) -> None:
        costs = fill.costs * qty / fill.qty
        held = abs(pos.qty)
        prior = pos.avg_price * held if held else 0.0
        pos.avg_price = (prior + fill.price * qty) / (held + qty)
        pos.qty += qty * fill.side.sign
        if pos.trade is None:
            side = "long" if fill.side is Side.BUY else "short"
            pos.trade = Trade(fill.symbol, side, qty, fill, costs)
        else:
            pos.trade.qty += qty
            pos.trade.entry_price = pos.avg_price
            pos.trade.costs += costs

    def _close(self, pos: Position, fill: Fill, qty: float) -> None:
        trade = pos.trade
        assert trade is not None
        gross = (fill.price - pos.avg_price) * qty * trade.sign
        self.realized += gross
        entry_costs = trade.costs * qty / trade.qty
        costs = entry_costs + fill.costs * qty / fill.qty
        closed = Trade(fill.symbol, trade.side, qty, trade, costs)
        closed.exit_ts, closed.exit_price, closed.exit_quality = fill.ts, fill.price, fill.quality
        closed.exit_seq = fill.seq
        closed.pnl = gross - closed.costs
        self._closed.append(closed)
        trade.qty -= qty
        trade.costs -= entry_costs
        pos.qty -= qty * trade.sign

    def _cash(self, ns: int, delta: float) -> None:
        self.cash += delta
        self._cash_ts.append(ns)
        self._cash_delta.append(delta)

    def _cash_at(self, grid: I64) -> F64:
        """Cash at each time of `grid`: the start plus every change at or before it."""
        times = np.asarray(self._cash_ts, dtype=np.int64)
        order = np.argsort(times, kind="stable")
        cumulative = np.concatenate(([0.0], np.cumsum(np.asarray(self._cash_delta)[order])))
        return self.cash_start + cumulative[np.searchsorted(times[order], grid, side="right")]


def _union(times: list[I64]) -> I64:
    """The sorted distinct times of several sorted arrays (np.unique hashes: slower here)."""
    if len(times) == 1:
        return times[0]
    merged = np.sort(np.concatenate(times), kind="stable")
    keep = np.empty(len(merged), dtype=np.bool_)
    keep[:1] = True
    np.not_equal(merged[1:], merged[:-1], out=keep[1:])
    return merged[keep]
