"""mismartera.ext.pipeline.count_distinct (a session's clock steps) against a set."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mismartera.ext.pipeline import count_distinct

stamps = st.lists(st.integers(-(2**62), 2**62) | st.integers(0, 40), max_size=30)


@given(st.lists(st.tuples(stamps, st.booleans()), max_size=6))
def test_count_distinct_is_the_size_of_the_union(columns):
    # strictly increasing columns (merged) or any order (the sorted fallback)
    arrays = [np.array(sorted(set(v)) if ordered else v, np.int64) for v, ordered in columns]
    assert count_distinct(arrays) == len({int(x) for a in arrays for x in a})


def test_count_distinct_refuses_what_is_not_integers():
    with pytest.raises(ValueError, match="arrays"):
        count_distinct([np.array([1.5])])
