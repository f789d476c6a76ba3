"""Random runs for the trading tests: sessions of valid bars and a stream of orders, plus
`run_broker`, which plays one through `SimulatedBroker` the way the session engine will.

    @given(runs())
    def test_x(run): result = run_broker(run, chunked=True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

from mismartera.trading.broker import SimulatedBroker
from mismartera.trading.costs import Commission, CostModel, Slippage, VolumeCap, combine
from mismartera.trading.orders import Fill, Order, bracket
from mismartera.trading.portfolio import Portfolio
from tests.reference.trading import RefBar, RefCosts, RefOrder

MINUTE = 60 * 1_000_000_000
DAY = 24 * 60 * MINUTE
OPEN_NS = 1_704_205_800 * 1_000_000_000  # 2024-01-02 14:30 UTC


class Chunk(NamedTuple):
    """Bars in columns, as `mismartera.bars.Bars` has them (the broker reads only these)."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def of(cls, bars: list[RefBar]) -> Chunk:
        ts, *prices = zip(*bars, strict=True)
        return cls(np.array(ts, np.int64), *(np.array(p, np.float64) for p in prices))


@dataclass
class Run:
    """Sessions of (bar, orders submitted at its close) and the costs of the run."""

    sessions: list[tuple[int, list[tuple[RefBar, list[RefOrder]]]]]
    costs: RefCosts
    cash: float = 100_000.0
    allow_short: bool = False
    brackets: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)
    """(stop-loss, take-profit) of the order submitted `key`-th, when it is a bracket."""


def random_bars(rng: np.random.Generator, n: int, start: int, price: float) -> list[RefBar]:
    """n valid bars one minute apart, some with a gap at the open, some with no volume."""
    bars = []
    for i in range(n):
        gap = rng.choice([0.0, 0.0, 0.0, rng.normal(0, 0.03)])
        o = max(1.0, price * (1 + gap))
        c = max(1.0, o * (1 + rng.normal(0, 0.01)))
        h = max(o, c) * (1 + abs(rng.normal(0, 0.005)))
        low = min(o, c) * (1 - abs(rng.normal(0, 0.005)))
        v = float(rng.choice([0.0, rng.integers(1, 1000)], p=[0.1, 0.9]))
        bars.append((start + i * MINUTE, round(o, 4), round(h, 4), round(low, 4), round(c, 4), v))
        price = c
    return bars


def random_order(rng: np.random.Generator, price: float) -> RefOrder:
    kind = str(rng.choice(["market", "limit", "stop", "stop_limit"]))
    side = str(rng.choice(["buy", "sell"], p=[0.6, 0.4]))
    qty = float(rng.choice([1, 10, 37.5, 100]))
    order = RefOrder(side, kind, qty, tif=str(rng.choice(["day", "gtc"])))
    if kind in ("limit", "stop_limit"):
        order.limit = round(price * (1 + float(rng.uniform(-0.03, 0.03))), 2)
    if kind in ("stop", "stop_limit"):
        order.stop = round(price * (1 + float(rng.uniform(-0.03, 0.03))), 2)
    return order


@st.composite
def runs(draw: st.DrawFn) -> Run:
    """1-3 sessions of 1-25 minute bars with 0-2 random orders at each bar's close."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    costs = RefCosts(
        per_share=draw(st.sampled_from([0.0, 0.005])),
        rate=draw(st.sampled_from([0.0, 0.0002])),
        minimum=draw(st.sampled_from([0.0, 1.0])),
        bps=draw(st.sampled_from([0.0, 5.0])),
        cap=draw(st.sampled_from([None, 0.1, 0.5])),
    )
    sessions = []
    price = 100.0
    for day in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 25))
        bars = random_bars(rng, n, OPEN_NS + day * DAY, price)
        price = bars[-1][4]
        steps = [(bar, [random_order(rng, bar[4]) for _ in range(rng.integers(3))]) for bar in bars]
        close_ns = OPEN_NS + day * DAY + max(n, 30) * MINUTE
        sessions.append((close_ns, steps))
    return Run(sessions, costs)


@st.composite
def bracket_runs(draw: st.DrawFn) -> Run:
    """`runs()` with shorts allowed and about a third of the buy orders bracketed."""
    run = draw(runs())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    run.allow_short = True
    specs = [spec for _, steps in run.sessions for _, specs in steps for spec in specs]
    for i, spec in enumerate(specs):
        if spec.side == "buy" and rng.random() < 0.35:
            ref = spec.stop if spec.kind.startswith("stop") else spec.limit
            ref = 100.0 if math.isnan(ref) else ref
            stop_loss = round(ref * (1 - rng.uniform(0.001, 0.03)), 2)
            take_profit = round(ref * (1 + rng.uniform(0.001, 0.03)), 2)
            run.brackets[i] = (
                None if rng.random() < 0.2 else stop_loss,
                take_profit if rng.random() < 0.8 else None,
            )
            if run.brackets[i] == (None, None):
                del run.brackets[i]
    return run


def cost_model(costs: RefCosts) -> CostModel:
    models: list[CostModel] = [Commission(costs.per_share, costs.rate, costs.minimum)]
    if costs.bps:
        models.append(Slippage(costs.bps))
    if costs.cap is not None:
        models.append(VolumeCap(costs.cap))
    return combine(*models)


def to_order(spec: RefOrder, symbol: str = "SPY") -> Order:
    limit = None if math.isnan(spec.limit) else spec.limit
    stop = None if math.isnan(spec.stop) else spec.stop
    return Order(symbol, spec.side, spec.qty, spec.kind, limit=limit, stop=stop, tif=spec.tif)


@dataclass
class BrokerResult:
    broker: SimulatedBroker
    fills: list[Fill]
    orders: list[Order]
    """The submitted orders (bracket entries carry their children)."""
    marks: list[tuple[int, float]]
    """(close, cash + position x close) where the strategy observed the run."""

    @property
    def all_orders(self) -> list[Order]:
        return [o for entry in self.orders for o in (entry, *entry.children)]


def run_broker(run: Run, *, chunked: bool = False, day_marks: bool = False,
               symbol: str = "SPY") -> BrokerResult:
    """Play `run` through a broker: bar by bar, or in chunks that end where the
    strategy submits orders (the only moments it observes). `day_marks` (with `chunked`):
    the chunks only fill, and each session's bars are marked in one call at its close (as
    a running session does); `marks` then holds equity read at stale closes."""
    costs = cost_model(run.costs)
    broker = SimulatedBroker(Portfolio(run.cash), MINUTE, costs, allow_short=run.allow_short)
    fills: list[Fill] = []
    orders: list[Order] = []
    marks: list[tuple[int, float]] = []
    for close_ns, steps in run.sessions:
        chunk: list[RefBar] = []
        for bar, specs in steps:
            chunk.append(bar)
            if specs or not chunked or bar is steps[-1][0]:
                if chunked:
                    fills += broker.on_bars(symbol, Chunk.of(chunk), mark=not day_marks)
                else:
                    fills += broker.on_bar(symbol, *bar)
                chunk = []
                marks.append((bar[0] + MINUTE, broker.portfolio.equity))
            for spec in specs:
                order = to_order(spec, symbol)
                if len(orders) in run.brackets:
                    stop_loss, take_profit = run.brackets[len(orders)]
                    bracket(order, stop_loss=stop_loss, take_profit=take_profit)
                orders.append(broker.submit(order, bar[0] + MINUTE))
        if day_marks and steps:
            day = Chunk.of([bar for bar, _ in steps])
            broker.portfolio.mark(symbol, day.ts + MINUTE, day.close)
        broker.end_session(close_ns)
    broker.finish(run.sessions[-1][0])
    return BrokerResult(broker, fills, orders, marks)
