import math

from mismartera_example_indicator import Momentum

from mismartera.testing import make_bars, run_indicator


def test_momentum_is_the_change_over_period_bars():
    closes = [10.0, 11.0, 13.0, 12.0, 15.0]
    values = run_indicator(Momentum, make_bars(closes), period=2)
    assert all(math.isnan(v) for v in values[:2])
    assert list(values[2:]) == [13.0 - 10.0, 12.0 - 11.0, 15.0 - 13.0]


def test_chunks_do_not_change_the_values():
    bars = make_bars([float(i * i % 7) for i in range(30)])
    whole = run_indicator(Momentum, bars, period=3)
    chunked = run_indicator(Momentum, bars, period=3, chunks=[1, 4, 0, 25])
    assert list(whole[3:]) == list(chunked[3:])
