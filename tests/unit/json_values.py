"""A Hypothesis strategy for JSON values."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()


def json_values(max_leaves: int = 10) -> st.SearchStrategy[Any]:
    return st.recursive(
        json_scalars,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
        max_leaves=max_leaves,
    )
