"""What a database can store: text without NUL or unpaired surrogates, finite numbers."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from unit.json_values import json_values
from wfcore.domain.values import storable_text, unstorable_json, unstorable_text

any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()))


@given(any_text)
def test_storable_text_is_storable_and_leaves_storable_text_alone(text: str) -> None:
    cleaned = storable_text(text)
    assert unstorable_text(cleaned) is None
    assert len(cleaned) == len(text)
    if unstorable_text(text) is None:
        assert cleaned == text


@given(json_values())
def test_for_finite_numbers_unstorable_json_is_unstorable_text(value: Any) -> None:
    assert unstorable_json(value) == unstorable_text(value)


@given(json_values(), st.sampled_from([math.nan, math.inf, -math.inf, "a\x00b", "\ud800"]))
def test_unstorable_json_says_where_the_bad_value_is(value: Any, bad: Any) -> None:
    assume(unstorable_text(value) is None)
    assert unstorable_json({"deep": [value, {"here": bad}]}) == ("deep", 1, "here")
