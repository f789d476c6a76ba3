"""Helpers for testing mismartera plugins with pytest.

A pytest plugin that a project opts into from its ``conftest.py`` with
``pytest_plugins = ["mismartera.testing"]``; it provides the ``mismartera_plugins`` fixture::

    def test_my_source(mismartera_plugins):
        mismartera_plugins.register(my_plugin_module)
        result = mismartera_plugins.invoke(["plugins", "--json"])
        assert "my-source" in result.output

The fixture gives each test its own plugin manager with the built-in plugins (and no
third-party ones); whatever the test registers is removed again afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from mismartera.bars import Bars
from mismartera.plugin_manager import PluginManager, Provenance

if TYPE_CHECKING:
    from mismartera.session.indicators import Indicator


class PluginHarness:
    """A plugin manager for one test, with helpers to register plugins and run the CLI."""

    def __init__(self, manager: PluginManager) -> None:
        self.manager = manager
        self._registered: list[str] = []

    def register(self, plugin: Any, name: str | None = None) -> Provenance:
        """Register a plugin object (module, class or instance with @hookimpl functions)."""
        prov = self.manager.register_plugin(plugin, name=name, distribution="test")
        self._registered.append(prov.plugin)
        return prov

    def unregister_all(self) -> None:
        for name in reversed(self._registered):
            self.manager.unregister_plugin(name)
        self._registered.clear()

    def invoke(self, args: Sequence[str], **kwargs: Any):
        """Run the `mismartera` CLI in-process with this manager; returns click's Result."""
        from click.testing import CliRunner

        from mismartera.cli import App, cli

        return CliRunner().invoke(cli, list(args), obj=App(_plugins=self.manager), **kwargs)


@pytest.fixture
def mismartera_plugins() -> Iterator[PluginHarness]:
    """A fresh plugin manager (built-ins only); plugins registered through it are removed
    when the test ends."""
    harness = PluginHarness(PluginManager(load_entry_points=False))
    try:
        yield harness
    finally:
        harness.unregister_all()


# ---- indicators ------------------------------------------------------------------------------
#
# Unit-test an indicator on a list of bars, through the same code that runs it in a session:
#
#     from mismartera.testing import make_bars, run_indicator
#
#     def test_momentum():
#         values = run_indicator(Momentum, make_bars([1, 2, 4, 7]), period=2)
#         assert values[-1] == 7 - 2


def make_bars(
    close: Any,
    *,
    open: Any = None,
    high: Any = None,
    low: Any = None,
    volume: Any = None,
    start: str = "2024-01-02T09:30:00-05:00",
    interval: str = "1m",
) -> Bars:
    """Bars from a list of closes: `open` defaults to the close, `high`/`low` to the larger
    and smaller of open and close, `volume` to 1; bar i starts at `start` + i * interval."""
    import datetime

    import numpy as np

    from mismartera.intervals import Interval

    c = np.asarray(close, dtype=np.float64)
    o = c.copy() if open is None else np.asarray(open, dtype=np.float64)
    h = np.maximum(o, c) if high is None else np.asarray(high, dtype=np.float64)
    lo = np.minimum(o, c) if low is None else np.asarray(low, dtype=np.float64)
    v = np.ones_like(c) if volume is None else np.asarray(volume, dtype=np.float64)
    t0 = int(datetime.datetime.fromisoformat(start).timestamp()) * 1_000_000_000
    ts = t0 + np.arange(len(c), dtype=np.int64) * Interval.parse(interval).ns
    return Bars.from_arrays(ts, o, h, lo, c, v)


def _as_bars(bars: Any) -> Bars:
    if isinstance(bars, Bars):
        return bars
    if isinstance(bars, Mapping):
        cols = {k: bars[k] for k in ("open", "high", "low", "close", "volume")}
        if "ts" in bars:
            return Bars.from_arrays(bars["ts"], *cols.values())
        return make_bars(cols["close"], open=cols["open"], high=cols["high"], low=cols["low"],
                         volume=cols["volume"])
    rows = list(bars)
    if not rows:
        return Bars.empty()
    return Bars.from_arrays(*zip(*rows, strict=True))


def run_indicator(
    indicator_cls: type[Indicator],
    bars: Any,
    *,
    interval: str = "1m",
    chunks: Sequence[int] | None = None,
    **params: Any,
) -> Any:
    """The indicator's value at every bar (NaN while not ready), computed exactly as a
    session computes it: one float64 array, or {output: array} for a multi-output one.

    `bars` is `Bars`, a list of (ts, open, high, low, close, volume) rows (e.g. `Bar`s) or
    a mapping of columns; `chunks` hands the bars over in pieces of those sizes (a session
    hands over whatever closed since the last step), which must not change the values."""
    from mismartera.session.indicators import drive

    state = drive(indicator_cls(interval, **params), _as_bars(bars), chunks)
    if len(state.outputs) == 1:
        return state.history()
    return {name: state.history(name) for name in state.outputs}
