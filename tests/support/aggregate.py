"""Helpers shared by the tests/test_ext_aggregate_*.py modules."""

from __future__ import annotations

import numpy as np

from mismartera.ext.aggregate import aggregate_bars
from tests.support.strategies import SessionCase


def run_batch(case: SessionCase, interval_ns: int | None = None):
    return aggregate_bars(*case.bars, case.opens, case.closes, interval_ns or case.derived_ns)


def assert_columns_equal(got, expected) -> None:
    """Six columns equal value for value (int64 ts, float64 values; no NaN in these tests)."""
    assert len(got) == len(expected) == 6
    assert got[0].dtype == np.int64
    assert all(g.dtype == np.float64 for g in got[1:])
    assert [g.tolist() for g in got] == [np.asarray(e, g.dtype).tolist()
                                         for g, e in zip(got, expected, strict=True)]
