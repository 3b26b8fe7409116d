"""`{{ expr }}` templates and JMESPath expressions: JSON types, interpolation, step references, errors."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unit.json_values import json_values
from wfcore.domain.expressions import Expression, ExpressionError, Template, is_truthy

CONTEXT: dict[str, Any] = {
    "input": {"n": 7, "name": "Ada", "tags": ["a", "b"], "flag": True, "none": None, "obj": {"k": [1, 2]}},
    "steps": {"classify": {"output": {"kind": "refund", "items": [{"x": 3}]}, "status": "succeeded"}},
    "run": {"id": "r-1", "attempt": 2},
}


def render(source: Any, context: dict[str, Any] = CONTEXT) -> Any:
    template, errors = Template.compile(source)
    assert errors == []
    return template.render(context)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ input.n }}", 7),
        ("{{input.name}}", "Ada"),
        ("{{   input.tags   }}", ["a", "b"]),
        ("{{ input.obj }}", {"k": [1, 2]}),
        ("{{ input.flag }}", True),
        ("{{ input.none }}", None),
        ("{{ input.missing }}", None),
        ("{{ run.attempt }}", 2),
        ("{{ steps.classify.output.items[0].x }}", 3),
    ],
)
def test_a_whole_placeholder_keeps_the_json_type(source: str, expected: Any) -> None:
    rendered = render(source)

    assert rendered == expected
    assert type(rendered) is type(expected)


@given(json_values())
def test_any_json_value_passes_through_a_whole_placeholder_unchanged(value: Any) -> None:
    rendered = render("{{ input.v }}", {"input": {"v": value}})

    assert rendered == value
    assert type(rendered) is type(value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("n={{ input.n }}!", "n=7!"),
        ("Hello {{ input.name }}", "Hello Ada"),
        ("{{ input.name }} has {{ input.n }} tags: {{ input.tags }}", 'Ada has 7 tags: ["a","b"]'),
        ("flag {{ input.flag }}, none [{{ input.none }}]", "flag true, none []"),
        ("obj={{ input.obj }}", 'obj={"k":[1,2]}'),
        ("attempt #{{ run.attempt }} of {{ run.id }}", "attempt #2 of r-1"),
        ("{{ input.name }}{{ input.n }}", "Ada7"),
        ("no placeholder }} here", "no placeholder }} here"),
    ],
)
def test_placeholders_inside_text_are_interpolated_as_text(source: str, expected: str) -> None:
    assert render(source) == expected


def test_text_keeps_characters_outside_ascii() -> None:
    assert render("{{ input.v }} café", {"input": {"v": ["ü"]}}) == '["ü"] café'


def test_templates_render_inside_lists_and_objects_and_leave_keys_and_literals_alone() -> None:
    source = {"{{ input.n }}": ["{{ input.n }}", 1.5, None, {"deep": "x{{ input.n }}"}], "flag": False}

    assert render(source) == {"{{ input.n }}": [7, 1.5, None, {"deep": "x7"}], "flag": False}


@pytest.mark.parametrize(
    ("source", "refs"),
    [
        ("steps.a.output.x", {"a"}),
        ("steps.a.output[0]", {"a"}),
        ("steps.a.output[0].x", {"a"}),
        ("steps.a.output[*].x", {"a"}),
        ("steps.a.output[?x > `1`].y", {"a"}),
        ("steps.a.output | [0]", {"a"}),
        ("steps | a", {"a"}),
        ('steps."quoted".output', {"quoted"}),
        ("length(steps.b.output)", {"b"}),
        ("not_null(steps.e.output, input.y)", {"e"}),
        ("steps.a.output.kind == 'refund'", {"a"}),
        ("steps.a.status == 'failed' && steps.b.output", {"a", "b"}),
        ("input.x || steps.d.output", {"d"}),
        ("[steps.a.output, steps.b.status]", {"a", "b"}),
        ("{x: steps.c.output}", {"c"}),
        ("!(steps.a.output)", {"a"}),
        ("sort_by(steps.a.output, &x)", {"a"}),
        ("input.steps.a", set()),
        ("input.list[?x == `1`]", set()),
        ("run.attempt > `1`", set()),
    ],
)
def test_step_refs_name_every_step_an_expression_reads(source: str, refs: set[str]) -> None:
    assert Expression.compile(source).step_refs == refs


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("steps", "must name a step after 'steps'"),
        ("steps[0]", "must name a step after 'steps'"),
        ("steps.*.output", "must name a step after 'steps'"),
        ("steps[*].output", "must name a step after 'steps'"),
        ("input.x || steps", "must name a step after 'steps'"),
        ("ticket.body", "refers to 'ticket'; an expression may only start from input, steps or run"),
        ("length(secret)", "refers to 'secret'"),
        ("@", "refers to '@'"),
        ("@.steps.b.output", "refers to '@'"),
        ("length(@)", "refers to '@'"),
        ("*.output", "refers to '@'"),
        ("steps.a.output[", "is not a valid JMESPath expression"),
        ("input.n ==", "is not a valid JMESPath expression"),
        ("   ", "the expression is empty"),
    ],
)
def test_expressions_that_may_not_be_saved_are_errors(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("[", r"\[").replace("*", r"\*")):
        Expression.compile(source)


def test_an_expression_error_quotes_the_expression() -> None:
    with pytest.raises(ExpressionError) as raised:
        Expression.compile("  tickets.body ")

    assert "'tickets.body'" in str(raised.value)


def test_compile_errors_are_located_inside_the_template() -> None:
    source = {"a": ["fine {{ input.x }}", "{{ ticket.body }}"], "b": {"c": "x {{ steps. }} y"}, "d": "oops {{ input"}

    template, errors = Template.compile(source)

    by_loc = {error.loc: error for error in errors}
    assert set(by_loc) == {("a", 1), ("b", "c"), ("d",)}
    assert "ticket" in by_loc[("a", 1)].msg
    assert "not a valid JMESPath" in by_loc[("b", "c")].msg
    assert "unclosed '{{'" in by_loc[("d",)].msg
    assert {error.type for error in errors} == {"expression"}
    assert template.step_refs == frozenset()


def test_template_step_refs_are_the_union_over_every_placeholder() -> None:
    template, errors = Template.compile(
        {"x": ["{{ steps.a.output }}", "{{ steps.b.status }} and {{ steps.c.output }}"]}
    )

    assert errors == []
    assert template.step_refs == {"a", "b", "c"}


@given(st.text())
def test_compiling_any_text_raises_nothing_but_expression_error(source: str) -> None:
    with contextlib.suppress(ExpressionError):
        Expression.compile(source)


@given(json_values())
def test_compiling_any_json_template_reports_errors_instead_of_raising(source: Any) -> None:
    template, errors = Template.compile(source)

    assert all(error.type == "expression" for error in errors)
    assert template.source == source


@pytest.mark.parametrize(
    ("value", "truthy"),
    [
        (None, False),
        (False, False),
        ("", False),
        ([], False),
        ({}, False),
        (0, True),
        (0.0, True),
        ("x", True),
        ([0], True),
        (True, True),
    ],
)
def test_truthiness_is_jmespath_truthiness(value: Any, truthy: bool) -> None:
    assert is_truthy(value) is truthy
