"""Every hook has a test, every hook's signature is a heading in docs/plugins.md, and every
example there works: each test below runs a hook's documented example for real."""

from __future__ import annotations

import datetime
import inspect
import json
import re
import types
from pathlib import Path

import pytest

from mismartera import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
HOOKS = [name for name in dir(hookspecs)
         if not name.startswith("_") and hasattr(getattr(hookspecs, name), "mismartera_spec")]


def signature(name: str) -> str:
    params = inspect.signature(getattr(hookspecs, name)).parameters
    return f"{name}({', '.join(params)})"


def examples(name: str) -> list[str]:
    """The python blocks of the hook's section of docs/plugins.md."""
    text = DOC.read_text()
    section = text.split(f"### `{signature(name)}`", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def example(name: str, index: int = 0) -> types.ModuleType:
    """Execute a python block of the hook's section of docs/plugins.md as a module."""
    blocks = examples(name)
    assert len(blocks) > index, f"docs/plugins.md has no python example {index} for {name}"
    module = types.ModuleType(f"example_{name}_{index}")
    exec(compile(blocks[index], f"docs/plugins.md:{name}", "exec"), module.__dict__)
    return module


def test_every_example_has_a_test():
    counts = {name: len(examples(name)) for name in HOOKS}
    assert counts == {**dict.fromkeys(HOOKS, 1), "register_data_sources": 2}


def tiny_session(tmp_path: Path, **data) -> dict:
    return {"session": {"start": "2024-01-02", "end": "2024-01-03"},
            "data": data or {"source": "synthetic", "count": 1},
            "symbols": {"list": ["SYN0"]}, "streams": {"intervals": ["1m", "5m"]}}


def test_hooks_are_the_documented_set():
    assert sorted(HOOKS) == sorted([*hookspecs.REGISTRATION_HOOKS, "register_commands",
                                    *hookspecs.NOTIFICATION_HOOKS])


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_signature_is_a_heading_in_the_docs(name):
    assert f"### `{signature(name)}`" in DOC.read_text()


@pytest.mark.parametrize("name", hookspecs.REGISTRATION_HOOKS)
def test_every_registration_hook_has_a_typed_register_documented(name):
    """`register` is typed per kind (a Protocol in hookspecs), and the docs name the type."""
    annotation = inspect.signature(getattr(hookspecs, name)).parameters["register"].annotation
    kind = hookspecs.REGISTRATION_HOOKS[name]
    title = "".join(part.title() for part in kind.split("_"))
    assert annotation == f"Register{'Source' if kind == 'source' else title}"
    assert getattr(hookspecs, annotation).__doc__.startswith(f"`register` of `{name}`")
    assert f"`{annotation}`" in DOC.read_text()


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name):
    assert callable(globals().get(f"test_hook_{name}")), f"write test_hook_{name}"


def test_hook_register_data_sources(mismartera_plugins, tmp_path):
    from mismartera import run_backtest

    mismartera_plugins.register(example("register_data_sources"))
    session = {**tiny_session(tmp_path, source="constant"), "symbols": {"list": ["ONE"]}}
    sd = run_backtest(session, plugins=mismartera_plugins.manager)
    bars = sd["ONE"].bars["5m"].bars()
    assert len(bars.ts) == 78 and set(bars.close) == {100.0} and set(bars.volume) == {5.0}


def test_source_factory_context_example(mismartera_plugins, tmp_path):
    """The second register_data_sources example: a source built on another one through
    the session's plugin manager (`context.source`)."""
    from mismartera import run_backtest

    mismartera_plugins.register(example("register_data_sources", 1))
    session = {**tiny_session(tmp_path, source="only", of="synthetic", keep=["SYN1"], count=2),
               "symbols": {"list": ["SYN1"]}}
    sd = run_backtest(session, plugins=mismartera_plugins.manager)
    assert sd.symbols() == ["SYN1"] and len(sd["SYN1"].base.data) == 390


def test_hook_register_indicators(mismartera_plugins):
    module = example("register_indicators")
    mismartera_plugins.register(module)
    reg = mismartera_plugins.manager.get("indicator", "last_close")
    assert reg.obj is module.LastClose and reg.description == "the last close"


def test_hook_register_exporters(mismartera_plugins, tmp_path):
    from mismartera import run_backtest

    mismartera_plugins.register(example("register_exporters"))
    out = tmp_path / "day.txt"
    run_backtest({**tiny_session(tmp_path), "export": {"path": str(out)}},
                 plugins=mismartera_plugins.manager)
    assert out.read_text() == "SYN0\n"


def test_hook_register_scanners(mismartera_plugins):
    module = example("register_scanners")
    mismartera_plugins.register(module)
    assert mismartera_plugins.manager.get("scanner", "nothing").obj is module.Nothing


def test_hook_register_strategies(mismartera_plugins, tmp_path):
    from mismartera import run_backtest

    module = example("register_strategies")
    mismartera_plugins.register(module)
    assert mismartera_plugins.manager.get("strategy", "buy_first_bar").obj is module.BuyFirstBar
    session = {**tiny_session(tmp_path), "strategy": {"name": "buy_first_bar",
                                                      "interval": "5m", "params": {"qty": 5}}}
    sd = run_backtest(session, plugins=mismartera_plugins.manager)
    trades = sd.strategy.trade_dicts()
    assert [(t["symbol"], t["side"], t["qty"], t["exit_ts"]) for t in trades] == [
        ("SYN0", "long", 5.0, None)]
    first = int(sd["SYN0"].bars["5m"].bars().ts[0])  # of the last day; the fill was on day 1
    assert trades[0]["entry_ts"] < first


def test_hook_register_cost_models(mismartera_plugins, tmp_path):
    from mismartera import run_backtest

    mismartera_plugins.register(example("register_strategies"))
    module = example("register_cost_models")
    mismartera_plugins.register(module)
    assert mismartera_plugins.manager.get("cost_model", "ticket_fee").obj is module.TicketFee
    session = {**tiny_session(tmp_path), "strategy": {"name": "buy_first_bar"},
               "broker": {"costs": {"ticket_fee": {"fee": 0.5}}}}
    sd = run_backtest(session, plugins=mismartera_plugins.manager)
    assert [o["costs"] for o in sd.strategy.orders] == [0.5]


def test_hook_register_commands(mismartera_plugins):
    mismartera_plugins.register(example("register_commands"))
    result = mismartera_plugins.invoke(["greet", "world"])
    assert (result.exit_code, result.output) == (0, "hello world\n")
    rows = json.loads(mismartera_plugins.invoke(["plugins", "--json"]).stdout)
    assert any(r["name"] == "greet" and r["kind"] == "command" for r in rows)


def run_with(mismartera_plugins, tmp_path, module):
    from mismartera import run_backtest

    mismartera_plugins.register(module)
    return run_backtest(tiny_session(tmp_path), plugins=mismartera_plugins.manager)


DAYS = [datetime.date(2024, 1, 2), datetime.date(2024, 1, 3)]


def test_hook_session_started(mismartera_plugins, tmp_path):
    module = example("session_started")
    run_with(mismartera_plugins, tmp_path, module)
    assert [(d, ["SYN0"]) for d in DAYS] == module.STARTED


def test_hook_session_ended(mismartera_plugins, tmp_path):
    module = example("session_ended")
    run_with(mismartera_plugins, tmp_path, module)
    assert {d: {"SYN0": 390} for d in DAYS} == module.BARS_PER_DAY


def test_hook_symbol_added(mismartera_plugins, tmp_path):
    module = example("symbol_added")
    run_with(mismartera_plugins, tmp_path, module)
    assert module.ADDED == ["SYN0"]


def test_hook_symbol_removed(mismartera_plugins, tmp_path):
    from mismartera.session.coordinator import SessionCoordinator
    from mismartera.session.run import as_config

    module = example("symbol_removed")
    mismartera_plugins.register(module)

    class Remover:
        def on_bar(self, ctx, symbol, interval, bar):
            ctx.remove_symbol("SYN0")

    SessionCoordinator(as_config(tiny_session(tmp_path)), plugins=mismartera_plugins.manager,
                       observers=[Remover()]).run()
    assert module.REMOVED == ["SYN0"]


def test_a_raising_notification_is_recorded_and_the_session_goes_on(mismartera_plugins, tmp_path):
    from mismartera import hookimpl

    class Broken:
        @hookimpl
        def session_started(self, session_data, session_date):
            raise RuntimeError("oops")

    sd = run_with(mismartera_plugins, tmp_path, Broken())
    # once a day; the last day's SessionData (and each day's export) holds that day's
    assert sd.errors == ["plugin Broken (test) raised in session_started: RuntimeError: oops"]
    assert len(sd["SYN0"].base.data) == 390
