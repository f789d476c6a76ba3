"""The indicator protocol: parameters, warm-up and window, the three styles, the testing
helpers, and the docs/indicators.md examples."""

from __future__ import annotations

import math
import re
import textwrap
import types
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mismartera
from mismartera.bars import Bar, Bars
from mismartera.errors import ConfigError, PluginError
from mismartera.ext import kernels
from mismartera.session.indicators import Indicator, Window, build_indicator, drive, style_of
from mismartera.testing import make_bars, run_indicator

DOC = Path(__file__).resolve().parents[2] / "docs" / "indicators.md"


class Base(Indicator):
    period: int = 5
    scale: float = 1.0
    label: str = "x"
    strict: bool = False
    counter: ClassVar[int] = 0  # not a parameter
    _private: int = 3  # not a parameter
    state: list  # no default: not a parameter

    def update(self, window):
        return 0.0


class Child(Base):
    period: int = 9  # overridden default keeps its place
    extra: float = 0.5
    scale = 2.0  # un-annotated override of a parameter's default


def test_parameters_are_typed_class_attributes_with_defaults():
    assert Base.parameters() == {"period": 5, "scale": 1.0, "label": "x", "strict": False}
    assert Child.parameters() == {"period": 9, "scale": 2.0, "label": "x", "strict": False,
                                  "extra": 0.5}
    assert Child.describe_params() == "period=9, scale=2.0, label='x', strict=false, extra=0.5"
    ind = Child("5m", period=3, scale=4)
    assert (ind.period, ind.scale, ind.interval.name) == (3, 4.0, "5m")
    assert isinstance(ind.scale, float) and ind.extra == 0.5
    assert mismartera.Indicator is Indicator


@pytest.mark.parametrize("params,reason", [
    ({"period": 2.0}, "period must be a whole number, got 2.0"),
    ({"period": True}, "period must be a whole number, got true"),
    ({"scale": "big"}, "scale must be a finite number, got 'big'"),
    ({"scale": math.inf}, "scale must be a finite number, got inf"),
    ({"label": 3}, "label must be a string, got 3"),
    ({"strict": 1}, "strict must be true or false, got 1"),
    ({"nope": 1}, "unknown parameter 'nope'"),
])
def test_bad_parameter_values_are_value_errors(params, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        Base("1m", **params)


def test_build_indicator_reports_plugin_mistakes_as_one_line():
    class NoMethod(Indicator):
        pass

    class Crashes(Indicator):
        def validate(self):
            raise KeyError("oops")

        def update(self, window):
            return 0.0

    class NotInt(Indicator):
        warmup = 2.5

        def update(self, window):
            return 0.0

    with pytest.raises(PluginError, match=r"is not a mismartera\.Indicator subclass"):
        build_indicator(object, "1m", {}, "--indicator x@1m", "x")
    with pytest.raises(PluginError, match="implements none of update, compute, update_many or k"):
        build_indicator(NoMethod, "1m", {}, "--indicator x@1m", "x")
    with pytest.raises(PluginError, match="raised KeyError when built"):
        build_indicator(Crashes, "1m", {}, "--indicator x@1m", "x")
    with pytest.raises(ConfigError, match=r"warmup must be a whole number >= 1, got 2\.5"):
        build_indicator(NotInt, "1m", {}, "--indicator x@1m", "x")


@pytest.mark.parametrize("made,reason", [
    (None, r"kernel\(\) must return \(a kernel of mismartera.ext.kernels, fields\), got None"),
    ((kernels.SMA(3), ("close",)), r"kernel\(\) gave SMA\(period=3\) with 1 outputs, but the "
                                   r"indicator has 2 \(a, b\)"),
    ((kernels.BBands(3), ("close", "open")), r"kernel\(\) fields: BBands.* reads 1 fields"),
    ((kernels.MACD(2, 3, 2), ("price",)), r"kernel\(\) fields: unknown bar field 'price'"),
])
def test_a_bad_kernel_is_a_plugin_error_when_the_session_is_configured(made, reason):
    class Bad(Indicator):
        outputs = ("a", "b") if made is None or len(made[0].outputs) != 3 else ("x", "y", "z")

        def kernel(self):
            return made

    with pytest.raises(PluginError, match=r"--indicator x@1m: indicator 'x': " + reason):
        build_indicator(Bad, "1m", {}, "--indicator x@1m", "x")


def test_style_is_the_method_the_class_implements():
    class C(Indicator):
        def compute(self, bars):
            return bars.close

    class M(C):
        def update_many(self, bars):
            return bars.close

    class K(M):
        def kernel(self):
            return kernels.SMA(3), ("close",)

    assert (style_of(Base), style_of(C), style_of(M), style_of(K), style_of(Indicator)) == (
        "update", "compute", "update_many", "kernel", "")


class Recorder(Indicator):
    """Records the windows it was called with."""

    warmup = 3
    window = None

    def reset(self):
        self.calls = []

    def update(self, window):
        self.calls.append(window.close.copy())
        return float(window.close[-1])


class Wide(Recorder):
    window = 5


@given(n=st.integers(0, 20), chunks=st.lists(st.integers(1, 6), max_size=8))
def test_update_is_called_per_bar_after_warmup_with_the_last_window_bars(n, chunks):
    bars = make_bars(np.arange(n, dtype=float))
    sizes, left = [], n
    for c in chunks:
        sizes.append(min(c, left))
        left -= sizes[-1]
    sizes.append(left)
    for cls, size in ((Recorder, 3), (Wide, 5)):
        state = drive(cls("1m"), bars, sizes)
        calls = state.indicator.calls
        assert [list(c) for c in calls] == [list(range(max(0, i + 1 - size), i + 1))
                                            for i in range(2, n)]
        values = state.history()
        assert np.isnan(values[:2]).all() and list(values[2:]) == list(range(2, n))
        assert state.ready == (n >= 3) and state.count == n


def test_window_views_are_read_only_and_complete():
    seen = {}

    class Peek(Indicator):
        warmup = 2

        def update(self, window):
            seen["len"] = len(window)
            seen["bars"] = window.bars()
            seen["field"] = window.field("volume")
            with pytest.raises(ValueError, match="read-only"):
                window.close[0] = 1.0
            return 0.0

    bars = make_bars([1.0, 2.0, 3.0], volume=[5.0, 6.0, 7.0])
    drive(Peek("1m"), bars)
    assert seen["len"] == 2 and list(seen["field"]) == [6.0, 7.0]
    assert list(seen["bars"].ts) == list(bars.ts[1:])
    with pytest.raises(ValueError, match="unknown bar field"):
        Window.of(bars).field("vwap")


class CumVolume(Indicator):
    """Batch: running volume (value i uses bars 0..i)."""

    def compute(self, bars):
        return np.cumsum(bars.volume)


class Pair(Indicator):
    outputs = ("hi", "lo")
    warmup = 2

    def compute(self, bars):
        return bars.high + 1, bars.low - 1


def test_compute_gets_every_bar_and_keeps_only_new_values():
    bars = make_bars(np.ones(7), volume=np.arange(1.0, 8.0))
    for chunks in (None, [1] * 7, [3, 4]):
        np.testing.assert_array_equal(run_indicator(CumVolume, bars, chunks=chunks),
                                      np.cumsum(np.arange(1.0, 8.0)))
    out = run_indicator(Pair, make_bars([1.0, 2.0, 3.0]), chunks=[1, 2])
    assert np.isnan(out["hi"][0]) and list(out["hi"][1:]) == [3.0, 4.0]
    assert list(out["lo"][1:]) == [1.0, 2.0]


@pytest.mark.parametrize("result,message", [
    (lambda bars: bars.close[:-1], "compute() must return an array of 3 values, got shape (2,)"),
    (lambda bars: "text", "compute() must return an array of 3 values, got something else"),
])
def test_compute_with_the_wrong_shape_raises(result, message):
    class Bad(Indicator):
        def compute(self, bars):
            return result(bars)

    with pytest.raises(TypeError, match=re.escape(message)):
        run_indicator(Bad, make_bars([1.0, 2.0, 3.0]))


def test_multi_output_update_returns_one_value_per_output():
    class Two(Indicator):
        outputs = ("a", "b")

        def update(self, window):
            return window.close[-1], -window.close[-1]

    class Wrong(Two):
        def update(self, window):
            return 1.0

    out = run_indicator(Two, make_bars([1.0, 2.0]))
    assert list(out["a"]) == [1.0, 2.0] and list(out["b"]) == [-1.0, -2.0]
    with pytest.raises(TypeError, match=r"update\(\) must return a tuple of 2 floats \(a, b\)"):
        run_indicator(Wrong, make_bars([1.0]))


def test_run_indicator_takes_rows_or_columns():
    bars = make_bars([1.0, 2.0, 4.0], high=[1.5, 2.5, 4.5], volume=[1.0, 2.0, 3.0])
    rows = [Bar(*(float(x) if k else int(x) for k, x in enumerate(r)))
            for r in zip(*bars, strict=True)]
    columns = {"open": bars.open, "high": bars.high, "low": bars.low, "close": bars.close,
               "volume": bars.volume}
    want = run_indicator(CumVolume, bars)
    np.testing.assert_array_equal(run_indicator(CumVolume, rows), want)
    np.testing.assert_array_equal(run_indicator(CumVolume, columns), want)
    assert len(run_indicator(CumVolume, [])) == 0
    with pytest.raises(ValueError, match="do not add up"):
        run_indicator(CumVolume, bars, chunks=[1, 1])


def test_make_bars_builds_valid_bars_one_interval_apart():
    bars = make_bars([2.0, 1.0], open=[1.0, 2.0], interval="5m")
    assert isinstance(bars, Bars) and bars.valid_mask().all()
    assert list(bars.high) == [2.0, 2.0] and list(bars.low) == [1.0, 1.0]
    assert int(np.diff(bars.ts)[0]) == 300_000_000_000


def doc_blocks() -> list[str]:
    """The python examples of docs/indicators.md, in order (list items' ones dedented)."""
    found = re.findall(r"^ *```python\n(.*?)^ *```", DOC.read_text(), re.S | re.M)
    return [textwrap.dedent(code) for code in found]


def test_the_docs_examples_run():
    indicator, compiled, tests_block, hook_block = doc_blocks()[:4]
    module = types.ModuleType("doc_indicator")
    exec(compile(indicator, "docs/indicators.md:indicator", "exec"), module.__dict__)
    tests = types.ModuleType("doc_tests")
    tests.Momentum = module.Momentum
    exec(compile(tests_block, "docs/indicators.md:tests", "exec"), tests.__dict__)
    tests.test_momentum()
    tests.test_chunks_do_not_change_the_values()
    fast = types.ModuleType("doc_compiled")
    fast.Indicator = Indicator
    exec(compile(compiled, "docs/indicators.md:compiled", "exec"), fast.__dict__)
    bars = make_bars(100 + np.sin(np.arange(30.0)), open=100 + np.cos(np.arange(30.0)))
    np.testing.assert_array_equal(run_indicator(fast.OpenEMA, bars, period=4, chunks=[7, 23]),
                                  kernels.ema(bars.open, 4))
    hook = types.ModuleType("doc_hook")
    hook.Momentum = module.Momentum
    exec(compile(hook_block, "docs/indicators.md:hook", "exec"), hook.__dict__)
    registered = []
    hook.register_indicators(register=lambda *a, **k: registered.append((a, k)))
    assert registered[0][0] == ("momentum", module.Momentum)
    with pytest.raises(ValueError, match="period must be >= 1"):
        module.Momentum("1m", period=0)
