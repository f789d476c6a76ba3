"""mismartera: trading sessions over market data, correct to the bar.

The public API is importable from here; names are loaded on first use so that
`import mismartera` (and `mismartera --help`) stays quick.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mismartera.hookspecs import hookimpl

_EXTENSIONS = ("_args", "ring", "aggregate", "gaps", "kernels", "indicator_bank", "pipeline",
               "_ringprobe")


_ROOT = Path(__file__).resolve().parents[1]
"""The folder above this package's: a checkout (framework/ beside ext/) or site-packages."""


def _check_build(root: Path = _ROOT) -> None:
    """Fail with one clear sentence when the compiled extensions are missing; the remedy
    depends on whether `root` is a mismartera checkout or an installation."""
    missing = [m for m in _EXTENSIONS if importlib.util.find_spec(f"mismartera.ext.{m}") is None]
    if not missing:
        return
    if (root / "setup.py").is_file() and any((root / "ext").glob("*.pyx")):
        remedy = f"run `pip install -e .` in {root} to build them"
    else:
        remedy = ("reinstall it where a C compiler is available "
                  "(`pip install --force-reinstall --no-cache-dir mismartera`) to build them")
    raise ImportError(f"mismartera's compiled extensions are not built "
                      f"(missing: {', '.join(missing)}); {remedy}.")


_check_build()

_LAZY = {
    "Bars": "mismartera.bars",
    "Interval": "mismartera.intervals",
    "Period": "mismartera.intervals",
    "TimeManager": "mismartera.calendar",
    "UserError": "mismartera.errors",
    "ConfigError": "mismartera.errors",
    "DataError": "mismartera.errors",
    "PluginError": "mismartera.errors",
    "DataSource": "mismartera.sources",
    "PluginManager": "mismartera.plugin_manager",
    "SessionConfig": "mismartera.config",
    "SessionData": "mismartera.session.data",
    "run_backtest": "mismartera.session.run",
    "RunResult": "mismartera.session.result",
    "Indicator": "mismartera.session.indicators",
    "Window": "mismartera.session.indicators",
    "Scanner": "mismartera.session.scanner",
    "ScanResult": "mismartera.session.scanner",
    "ScanContext": "mismartera.session.scanner",
    "Param": "mismartera.session.scanner",
    "Strategy": "mismartera.trading.strategy",
    "StrategyContext": "mismartera.trading.strategy",
    "sweep": "mismartera.sweep",
}

__all__ = ["hookimpl", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mismartera' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # every lazily loaded name, so that a type checker sees its real type
    from mismartera.bars import Bars as Bars
    from mismartera.calendar import TimeManager as TimeManager
    from mismartera.config import SessionConfig as SessionConfig
    from mismartera.errors import ConfigError as ConfigError
    from mismartera.errors import DataError as DataError
    from mismartera.errors import PluginError as PluginError
    from mismartera.errors import UserError as UserError
    from mismartera.intervals import Interval as Interval
    from mismartera.intervals import Period as Period
    from mismartera.plugin_manager import PluginManager as PluginManager
    from mismartera.session.data import SessionData as SessionData
    from mismartera.session.indicators import Indicator as Indicator
    from mismartera.session.indicators import Window as Window
    from mismartera.session.result import RunResult as RunResult
    from mismartera.session.run import run_backtest as run_backtest
    from mismartera.session.scanner import Param as Param
    from mismartera.session.scanner import ScanContext as ScanContext
    from mismartera.session.scanner import Scanner as Scanner
    from mismartera.session.scanner import ScanResult as ScanResult
    from mismartera.sources import DataSource as DataSource
    from mismartera.sweep import sweep as sweep
    from mismartera.trading.strategy import Strategy as Strategy
    from mismartera.trading.strategy import StrategyContext as StrategyContext
