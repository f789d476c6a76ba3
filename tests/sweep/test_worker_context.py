"""The worker context: a cached source serves the bars its inner source gives for any request
(hypothesis, against the inner source read directly); tasks sharing a context give the rows
fresh ones give, with the source built and read once per symbol set and window; the budget,
the LRU and the plugin environment; a new run, the run's end and a forked child each get a
context of their own; "spawn" instead of "fork" once Ray has run."""

from __future__ import annotations

import multiprocessing
import sys
import types
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mismartera import hookimpl
from mismartera.calendar import TimeManager
from mismartera.plugin_manager import PluginManager
from mismartera.plugins.sources.synthetic import SyntheticSource
from mismartera.session.run import as_config
from mismartera.sources import TickHistorySource
from mismartera.sweep import context as ctx_module
from mismartera.sweep import sweep
from mismartera.sweep.context import (
    CachedSource,
    WorkerContext,
    current_context,
    enter_run,
    release_context,
)
from mismartera.sweep.engines import default_start_method
from mismartera.sweep.plan import make_job, plan_tasks
from mismartera.sweep.worker import run_task
from tests.support.sources import M1, M5, assert_bars_equal
from tests.sweep.helpers import GRID, SESSION, session

CAL = TimeManager("XNYS")
LO = CAL.local_ns(date(2024, 1, 2), 0, 0)
HI = CAL.local_ns(date(2024, 1, 20), 0, 0)
HOUR = 3_600 * 10**9


def synthetic() -> SyntheticSource:
    return SyntheticSource(seed=3, symbols="SYN0,SYN1", exchange="XNYS")


def cached(inner, budget: int = 1 << 30, symbols=("SYN0",)) -> CachedSource:
    used = [0]

    def reserve(nbytes: int) -> bool:
        if used[0] + nbytes > budget:
            return False
        used[0] += nbytes
        return True

    return CachedSource(inner, symbols, HI, reserve)


requests = st.lists(
    st.tuples(st.sampled_from(["SYN0", "SYN1"]), st.sampled_from([M1, M5]),
              st.integers(LO - 3 * 24 * HOUR, HI + 3 * 24 * HOUR),
              st.integers(0, 5 * 24 * HOUR)),
    min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(requests, st.sampled_from([0, 200_000, 1 << 30]))
def test_a_cached_source_serves_what_its_source_gives(asked, budget):
    inner = synthetic()
    source = cached(inner, budget)
    for symbol, interval, start, length in asked:
        assert_bars_equal(source.bars(symbol, interval, start, start + length),
                          inner.bars(symbol, interval, start, start + length))
    assert source.intervals("SYN0") == inner.intervals("SYN0")
    assert source.symbols() == inner.symbols() and source.name == inner.name


def test_held_bars_grow_to_earlier_and_later_requests():
    inner = synthetic()
    source = CachedSource(inner, ("SYN0",), LO + 5 * 24 * HOUR, lambda nbytes: True)
    day = 24 * HOUR
    for start, end in ((LO + 2 * day, LO + 3 * day), (LO, LO + 2 * day),
                       (LO + 4 * day, LO + 9 * day), (LO + day, LO + 8 * day)):
        assert_bars_equal(source.bars("SYN0", M1, start, end), inner.bars("SYN0", M1, start, end))
    span = source._spans["SYN0", "1m"]
    assert (span.lo, span.hi) == (LO, LO + 9 * day)
    assert source.nbytes == sum(a.nbytes for a in inner.bars("SYN0", M1, LO, LO + 9 * day))


def test_trades_and_quotes_pass_through_when_the_source_has_them():
    class WithTicks(SyntheticSource):
        def tick_records(self, symbol, kind, start_ns, end_ns):
            return (symbol, kind, start_ns, end_ns)

    assert not isinstance(cached(synthetic()), TickHistorySource)
    context = WorkerContext()
    source = context.source(as_config(SESSION).validate(), context.plugins())
    assert not isinstance(source, TickHistorySource)
    ticks = ctx_module._CachedTickSource(WithTicks(seed=3), ("SYN0",), HI, lambda n: True)
    assert isinstance(ticks, TickHistorySource)
    assert ticks.tick_records("SYN0", "ticks", 1, 2) == ("SYN0", "ticks", 1, 2)


class Counting:
    """The synthetic source, counting its `bars` calls and its builds in `log`."""

    def __init__(self, log: dict[str, int], **options):
        log["built"] = log.get("built", 0) + 1
        self.log, self.inner = log, SyntheticSource(**options)
        self.name = "counting"

    def symbols(self):
        return self.inner.symbols()

    def intervals(self, symbol):
        return self.inner.intervals(symbol)

    def bars(self, symbol, interval, start_ns, end_ns):
        self.log["reads"] = self.log.get("reads", 0) + 1
        return self.inner.bars(symbol, interval, start_ns, end_ns)


def counting_plugins(log: dict[str, int]) -> PluginManager:
    class Plugin:
        @hookimpl
        def register_data_sources(self, register):
            register("counting", lambda **options: Counting(log, **options))

    plugins = PluginManager(load_entry_points=False)
    plugins.register_plugin(Plugin(), name="counting")
    return plugins


def stable(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("run_s", "worker")}


def test_tasks_sharing_a_context_give_the_rows_of_fresh_ones_and_read_once():
    log: dict[str, int] = {}
    plugins = counting_plugins(log)
    job = make_job(as_config(session(data__source="counting")), GRID, plugins,
                   windows="monthly")
    tasks = plan_tasks(job)
    shared = WorkerContext()
    rows = [run_task(job, t, plugins=plugins, context=shared) for t in tasks]
    assert log["built"] == 1  # one window, one symbol set
    reads = log["reads"]
    again = [run_task(job, t, plugins=plugins, context=shared) for t in tasks]
    assert log["reads"] == reads and log["built"] == 1  # all from memory now
    fresh = [run_task(job, t, plugins=plugins, context=WorkerContext()) for t in tasks]
    assert [stable(r) for r in rows] == [stable(r) for r in fresh] == [stable(r)
                                                                          for r in again]
    assert shared.plugins() is shared.plugins()


def test_windows_and_symbol_sets_each_have_a_source_and_the_oldest_goes_first():
    data = session(session__end="2024-03-28")
    job = make_job(as_config(data), {"fast": [3], "slow": [20]},
                   PluginManager(load_entry_points=False), windows="monthly",
                   symbol_sets=["SYN0", "SYN1"])
    tasks = plan_tasks(job)
    assert len(tasks) == 6
    context = WorkerContext(max_entries=2)
    for task in tasks:
        run_task(job, task, context=context)
    assert len(context._sources) == 2
    held = next(reversed(context._sources.values()))
    assert held.held_symbols == {"SYN1"} and held.nbytes > 0
    assert context.nbytes == sum(s.nbytes for s in context._sources.values())


def test_a_small_budget_holds_nothing_and_gives_the_same_rows():
    job = make_job(as_config(SESSION), GRID, PluginManager(load_entry_points=False))
    tasks = plan_tasks(job)[:2]
    tight = WorkerContext(max_bytes=10_000)
    rows = [stable(run_task(job, t, context=tight)) for t in tasks]
    assert tight.nbytes == 0
    assert rows == [stable(run_task(job, t, context=WorkerContext())) for t in tasks]


def test_bars_held_are_read_only():
    source = cached(synthetic())
    source.bars("SYN0", M1, LO, LO + 24 * HOUR)
    served = source.bars("SYN0", M1, LO, LO + 24 * HOUR)
    assert len(served) > 0
    with pytest.raises(ValueError):
        served.close[0] = 1.0


def test_the_plugin_manager_follows_the_environment(monkeypatch):
    context = WorkerContext()
    monkeypatch.delenv("MISMARTERA_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    first = context.plugins()
    assert context.plugins() is first
    monkeypatch.setenv("MISMARTERA_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert context.plugins() is not first


def test_each_run_has_its_own_context_and_its_end_closes_it():
    first = enter_run("run-a")
    assert enter_run("run-a") is first and current_context() is first
    first.source(as_config(SESSION).validate(), first.plugins()).bars(
        "SYN0", M1, LO, LO + 24 * HOUR)
    assert first.nbytes > 0
    second = enter_run("run-b")
    assert second is not first and first.nbytes == 0 and not first._sources  # closed
    release_context("run-a")  # not the one held: nothing happens
    assert current_context() is second
    release_context("run-b")
    assert current_context() is not second


def test_a_serial_sweep_leaves_no_context_behind():
    before = current_context()
    sweep(SESSION, {"fast": [3], "slow": [20]}, workers=0)
    after = current_context()
    assert after is not before and not after._sources


def _context_pid(_: int) -> tuple[int, int]:
    import os

    return current_context().pid, os.getpid()


def test_a_forked_child_makes_its_own_context():
    parent = current_context()
    parent.source(as_config(SESSION).validate(), parent.plugins()).bars(
        "SYN0", M1, LO, LO + 24 * HOUR)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        made, child = pool.map(_context_pid, [0])[0]
    assert made == child != parent.pid
    assert current_context() is parent and parent.nbytes > 0  # the parent's is untouched


def test_spawn_instead_of_fork_once_ray_has_run(monkeypatch):
    if multiprocessing.get_context().get_start_method() != "fork":
        pytest.skip("the platform does not fork by default")
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    assert default_start_method() is None
    ray = types.ModuleType("ray")
    ray.is_initialized = lambda: True  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ray", ray)
    assert default_start_method() == "spawn"
