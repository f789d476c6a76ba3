"""The python examples of docs/strategies.md run: the strategy, tried in a backtest through
a registered plugin (its trades checked), and the packaging hook."""

from __future__ import annotations

import re
import textwrap
import types
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"


def doc_blocks() -> list[str]:
    found = re.findall(r"^ *```python\n(.*?)^ *```", DOC.read_text(), re.S | re.M)
    return [textwrap.dedent(code) for code in found]


def test_the_docs_examples_run(capsys):
    strategy, trial, hook_block = doc_blocks()
    module = types.ModuleType("doc_strategy")
    exec(compile(strategy, "docs/strategies.md:strategy", "exec"), module.__dict__)
    with pytest.raises(ValueError, match="period must be >= 2"):
        module.EmaTrend(period=1)
    assert module.EmaTrend("15m", period=5).indicators() == ("ema:period=5@15m",)
    trial_module = types.ModuleType("doc_trial")
    trial_module.EmaTrend = module.EmaTrend
    exec(compile(trial, "docs/strategies.md:trial", "exec"), trial_module.__dict__)
    result = trial_module.result
    assert result.errors == [] and len(result.trade_dicts()) > 10
    assert all(t["qty"] == 10.0 and t["side"] == "long" for t in result.trade_dicts())
    assert "StrategyResult(ema_trend" in capsys.readouterr().out
    hook = types.ModuleType("doc_hook")
    hook.EmaTrend = module.EmaTrend
    exec(compile(hook_block, "docs/strategies.md:hook", "exec"), hook.__dict__)
    registered = []
    hook.register_strategies(register=lambda *a, **k: registered.append((a, k)))
    assert registered[0][0] == ("ema_trend", module.EmaTrend)
