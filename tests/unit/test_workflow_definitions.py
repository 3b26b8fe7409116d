"""`compile_definition`: every rule, at its exact loc, with an actionable message, all reported at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from unit.definitions import definition, step, valid_definitions
from unit.graphs import closure
from unit.json_values import json_values
from wfcore.domain.agents import RetryPolicy
from wfcore.domain.errors import ErrorDetail, InvalidDefinition, Loc
from wfcore.domain.graph import downstream, plan_levels
from wfcore.domain.workflows import (
    CompiledWorkflow,
    DefinitionLimits,
    OnFailure,
    StepDefinition,
    StepRetry,
    WorkflowDefinition,
    compile_definition,
)


def errors_of(invalid: WorkflowDefinition, limits: DefinitionLimits | None = None) -> list[ErrorDetail]:
    with pytest.raises(InvalidDefinition) as raised:
        compile_definition(invalid, limits or DefinitionLimits())
    return list(raised.value.errors)


def only_error(invalid: WorkflowDefinition) -> ErrorDetail:
    errors = errors_of(invalid)
    assert len(errors) == 1, errors
    return errors[0]


def test_a_valid_definition_compiles_with_its_plan() -> None:
    compiled = compile_definition(
        definition(
            step("classify", "classifier", input={"text": "{{ input.ticket.body }}"}),
            step("refund", "refunds", "classify", when="steps.classify.output.kind == 'refund'"),
            step("reply", "writer", "classify", "refund", input={"s": "{{ steps.classify.output.kind }}"}),
            step("audit", "writer", "classify"),
        )
    )

    assert compiled.levels == (("classify",), ("refund", "audit"), ("reply",))
    assert compiled.steps["classify"].dependants == ("refund", "reply", "audit")
    assert compiled.sinks == ["reply", "audit"]
    assert compiled.steps["refund"].when is not None
    assert compiled.steps["reply"].input.step_refs == {"classify"}


@pytest.mark.parametrize(
    ("step_id", "kind"),
    [
        ("Fetch", "string_pattern"),
        ("1st", "string_pattern"),
        ("a-b", "string_pattern"),
        ("", "string_pattern"),
        ("a" * 65, "string_length"),
    ],
)
def test_a_bad_step_id_is_reported_at_its_id(step_id: str, kind: str) -> None:
    error = only_error(definition(step(step_id)))

    assert error.loc == ("steps", 0, "id")
    assert error.type == kind


def test_a_step_id_of_64_characters_is_accepted() -> None:
    assert compile_definition(definition(step("a" * 64)))


def test_duplicate_step_ids_are_reported_at_the_second() -> None:
    error = only_error(definition(step("a"), step("b"), step("a")))

    assert (error.loc, error.type) == (("steps", 2, "id"), "duplicate")
    assert "duplicate step id 'a'" in error.msg


def test_an_unknown_dependency_is_reported_at_its_position() -> None:
    error = only_error(definition(step("a"), step("b", "echo", "a", "ghost")))

    assert (error.loc, error.type) == (("steps", 1, "depends_on", 1), "unknown_step")
    assert "unknown step 'ghost'" in error.msg


def test_a_dependency_listed_twice_is_reported() -> None:
    error = only_error(definition(step("a"), step("b", "echo", "a", "a")))

    assert (error.loc, error.type) == (("steps", 1, "depends_on", 1), "duplicate")


def test_a_self_dependency_is_reported_at_its_position() -> None:
    error = only_error(definition(step("a", "echo", "a")))

    assert (error.loc, error.type) == (("steps", 0, "depends_on", 0), "cycle")
    assert "cannot depend on itself" in error.msg


def test_a_cycle_is_reported_with_its_path() -> None:
    error = only_error(
        definition(step("start"), step("a", "echo", "c"), step("b", "echo", "a"), step("c", "echo", "b"))
    )

    assert error.type == "cycle"
    assert error.loc == ("steps", 1, "depends_on")
    assert error.msg == "the dependencies form a cycle: a -> c -> b -> a"


def test_an_expression_error_names_the_place_and_the_expression() -> None:
    error = only_error(definition(step("a", input={"ticket": {"text": "Body: {{ ticket.body }}"}})))

    assert (error.loc, error.type) == (("steps", 0, "input", "ticket", "text"), "expression")
    assert "'ticket.body'" in error.msg
    assert "input, steps or run" in error.msg


def test_a_reference_to_a_step_that_is_not_an_ancestor_is_reported() -> None:
    error = only_error(definition(step("a"), step("b"), step("c", "echo", "a", input="{{ steps.b.output }}")))

    assert (error.loc, error.type) == (("steps", 2, "input"), "not_an_ancestor")
    assert "refers to step 'b', which is not among the dependencies of 'c'" in error.msg
    assert "add it to depends_on" in error.msg


def test_a_step_may_read_every_transitive_dependency_but_not_itself() -> None:
    assert compile_definition(
        definition(step("a"), step("b", "echo", "a"), step("c", "echo", "b", input="{{ steps.a.output }}"))
    )

    error = only_error(definition(step("a", input="{{ steps.a.output }}")))
    assert (error.loc, error.type) == (("steps", 0, "input"), "not_an_ancestor")


def test_when_compile_errors_and_references_are_reported_at_when() -> None:
    errors = errors_of(definition(step("a", when="steps.a.output.ok == "), step("b", when="steps.a.output.ok")))

    assert [(e.loc, e.type) for e in errors] == [
        (("steps", 0, "when"), "expression"),
        (("steps", 1, "when"), "not_an_ancestor"),
    ]
    assert "'steps.a.output.ok =='" in errors[0].msg


def test_the_output_may_read_any_step_but_not_an_unknown_one() -> None:
    errors = errors_of(
        definition(step("a"), output={"x": "{{ steps.a.output }}", "y": ["{{ steps.z.output }}", "{{ ?"]})
    )

    assert [(e.loc, e.type) for e in errors] == [(("output", "y", 1), "expression"), (("output",), "unknown_step")]
    assert "unknown step 'z'" in errors[1].msg


def test_500_steps_are_allowed_and_501_are_refused_at_the_cap() -> None:
    assert compile_definition(definition(*(step(f"s{index}") for index in range(500))))

    error = only_error(definition(*(step(f"s{index}") for index in range(501))))
    assert (error.loc, error.type) == (("steps",), "cap_exceeded")
    assert "at most 500 steps" in error.msg


def test_10000_chained_steps_are_refused_at_the_cap_before_any_graph_work() -> None:
    chain = [step("s0"), *(step(f"s{index}", "echo", f"s{index - 1}") for index in range(1, 10_000))]

    error = only_error(definition(*chain))

    assert error.type == "cap_exceeded"


def test_the_cap_is_a_setting() -> None:
    errors = errors_of(definition(step("a"), step("b")), DefinitionLimits(max_steps=1))

    assert [e.msg for e in errors] == ["a workflow may have at most 1 steps"]


def test_a_workflow_needs_a_step() -> None:
    error = only_error(definition())

    assert (error.loc, error.type) == (("steps",), "too_short")


@pytest.mark.parametrize(("timeout_ms", "valid"), [(99, False), (100, True), (600_000, True), (600_001, False)])
def test_step_timeout_range(timeout_ms: int, valid: bool) -> None:
    invalid = definition(step("a", timeout_ms=timeout_ms))
    if valid:
        assert compile_definition(invalid)
    else:
        error = only_error(invalid)
        assert (error.loc, error.msg) == (("steps", 0, "timeout_ms"), "must be between 100 and 600000")


@pytest.mark.parametrize(
    ("retry", "loc"),
    [
        (StepRetry(max_attempts=0), ("max_attempts",)),
        (StepRetry(max_attempts=11), ("max_attempts",)),
        (StepRetry(initial_backoff_ms=-1), ("initial_backoff_ms",)),
        (StepRetry(max_backoff_ms=3_600_001), ("max_backoff_ms",)),
        (StepRetry(initial_backoff_ms=300, max_backoff_ms=200), ("max_backoff_ms",)),
        (StepRetry(backoff_multiplier=0.5), ("backoff_multiplier",)),
        (StepRetry(retry_on_status=(500, 99)), ("retry_on_status", 1)),
    ],
)
def test_step_retry_ranges(retry: StepRetry, loc: Loc) -> None:
    error = only_error(definition(step("a", retry=retry)))

    assert error.loc == ("steps", 0, "retry", *loc)
    assert error.type == "range"


def test_a_step_retry_override_is_not_judged_by_fields_it_leaves_to_the_agent() -> None:
    assert compile_definition(definition(step("a", retry=StepRetry(max_backoff_ms=200))))
    assert compile_definition(definition(step("a", retry=StepRetry(initial_backoff_ms=60_000))))


@pytest.mark.parametrize(
    ("schema", "loc", "message"),
    [
        ({"type": "nope"}, ("input_schema", "type"), "is not a valid JSON Schema"),
        ({"properties": {"a": {"type": 3}}}, ("input_schema", "properties", "a", "type"), "at properties/a/type"),
        ({"pattern": "("}, ("input_schema", "pattern"), "is not a 'regex'"),
        ({"$schema": 5}, ("input_schema", "$schema"), "5 is not a JSON Schema dialect"),
        ({"$schema": "http://example.com/mine"}, ("input_schema", "$schema"), "not a JSON Schema dialect"),
    ],
)
def test_an_invalid_input_schema_is_reported_where_it_is_wrong(schema: dict[str, Any], loc: Loc, message: str) -> None:
    error = only_error(definition(step("a"), input_schema=schema))

    assert (error.loc, error.type) == (loc, "json_schema")
    assert message in error.msg


def test_name_and_description_rules() -> None:
    errors = errors_of(definition(step("a"), name="bad name", description="x" * 2001))

    assert [(e.loc, e.type) for e in errors] == [(("name",), "string_pattern"), (("description",), "string_length")]


def test_every_error_is_reported_at_once() -> None:
    errors = errors_of(
        definition(
            step("a", input="{{ nope }}", timeout_ms=1),
            step("a", "echo", "ghost"),
            step("B", when="(("),
            step("c", "echo", "a", input="{{ steps.d.output }}", retry=StepRetry(max_attempts=0)),
            step("d"),
            name="",
            input_schema={"type": 1},
        )
    )

    assert {(e.loc, e.type) for e in errors} == {
        (("name",), "string_length"),
        (("input_schema", "type"), "json_schema"),
        (("steps", 1, "id"), "duplicate"),
        (("steps", 2, "id"), "string_pattern"),
        (("steps", 1, "depends_on", 0), "unknown_step"),
        (("steps", 0, "timeout_ms"), "range"),
        (("steps", 0, "input"), "expression"),
        (("steps", 2, "when"), "expression"),
        (("steps", 3, "input"), "not_an_ancestor"),
        (("steps", 3, "retry", "max_attempts"), "range"),
    }


def test_the_step_retry_policy_overrides_only_the_fields_it_sets() -> None:
    compiled = compile_definition(
        definition(step("a", retry=StepRetry(max_attempts=5, retry_on_status=(503,))), step("b"))
    )
    agent_policy = RetryPolicy(max_attempts=2, initial_backoff_ms=10)

    assert compiled.retry_policy("a", agent_policy) == RetryPolicy(
        max_attempts=5, initial_backoff_ms=10, retry_on_status=(503,)
    )
    assert compiled.retry_policy("b", agent_policy) is agent_policy


# Property tests: random valid definitions compile; breaking one in any number of ways is reported in full.


def assert_matches_its_definition(compiled: CompiledWorkflow, valid: WorkflowDefinition) -> None:
    graph = {s.id: list(s.depends_on) for s in valid.steps}
    assert compiled.levels == tuple(tuple(level) for level in plan_levels(graph))
    for s in valid.steps:
        assert compiled.steps[s.id].dependants == tuple(other for other in graph if s.id in graph[other])
    assert compiled.sinks == [s.id for s in valid.steps if not compiled.steps[s.id].dependants]


@given(valid_definitions())
def test_random_valid_definitions_compile(valid: WorkflowDefinition) -> None:
    assert_matches_its_definition(compile_definition(valid), valid)


Expected = set[tuple[Loc, str]]
Breakage = Callable[[WorkflowDefinition, st.DataObject], tuple[WorkflowDefinition, Expected]]


def _replace_step(broken: WorkflowDefinition, index: int, **changes: Any) -> WorkflowDefinition:
    steps = list(broken.steps)
    steps[index] = attrs.evolve(steps[index], **changes)
    return attrs.evolve(broken, steps=tuple(steps))


def _append(broken: WorkflowDefinition, added: StepDefinition) -> WorkflowDefinition:
    return attrs.evolve(broken, steps=(*broken.steps, added))


def _pick(broken: WorkflowDefinition, data: st.DataObject) -> int:
    return data.draw(st.integers(0, len(broken.steps) - 1))


def _add_input(broken: WorkflowDefinition, index: int, value: str) -> tuple[WorkflowDefinition, str]:
    current = broken.steps[index].input or {}
    key = f"broken{len(current)}"
    return _replace_step(broken, index, input={**current, key: value}), key


def bad_id(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    step_id = data.draw(st.sampled_from(["Upper", "9lives", "with-dash", "", "x" * 65]))
    kind = "string_length" if len(step_id) > 64 else "string_pattern"
    return _append(broken, step(step_id)), {(("steps", len(broken.steps), "id"), kind)}


def duplicate_id(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    copied = broken.steps[_pick(broken, data)]
    return _append(broken, copied), {(("steps", len(broken.steps), "id"), "duplicate")}


def unknown_dependency(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    index = _pick(broken, data)
    deps = broken.steps[index].depends_on
    loc: Loc = ("steps", index, "depends_on", len(deps))
    return _replace_step(broken, index, depends_on=(*deps, "ghost")), {(loc, "unknown_step")}


def self_dependency(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    index = _pick(broken, data)
    chosen = broken.steps[index]
    loc: Loc = ("steps", index, "depends_on", len(chosen.depends_on))
    return _replace_step(broken, index, depends_on=(*chosen.depends_on, chosen.id)), {(loc, "cycle")}


def bad_expression(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    index = _pick(broken, data)
    text = data.draw(st.sampled_from(["{{ ticket.id }}", "x {{ steps }} y", "{{ input. }}", "{{ input.x"]))
    broken, key = _add_input(broken, index, text)
    return broken, {(("steps", index, "input", key), "expression")}


def bad_when(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    index = _pick(broken, data)
    return _replace_step(broken, index, when="input.n >"), {(("steps", index, "when"), "expression")}


def bad_timeout(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    index = _pick(broken, data)
    timeout = data.draw(st.integers(max_value=99) | st.integers(min_value=600_001))
    return _replace_step(broken, index, timeout_ms=timeout), {(("steps", index, "timeout_ms"), "range")}


def bad_retry(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    index = _pick(broken, data)
    attempts = data.draw(st.integers(max_value=0) | st.integers(min_value=11))
    retry = StepRetry(max_attempts=attempts)
    return _replace_step(broken, index, retry=retry), {(("steps", index, "retry", "max_attempts"), "range")}


def bad_schema(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    return attrs.evolve(broken, input_schema={"type": "nope"}), {(("input_schema", "type"), "json_schema")}


def bad_name(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    return attrs.evolve(broken, name="-leading-dash"), {(("name",), "string_pattern")}


def unknown_output_step(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    output = {**(broken.output or {}), "ghost": "{{ steps.ghost.output }}"}
    return attrs.evolve(broken, output=output), {(("output",), "unknown_step")}


def non_ancestor_reference(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    graph = {s.id: list(s.depends_on) for s in broken.steps}
    index = _pick(broken, data)
    chosen = broken.steps[index].id
    target = data.draw(st.sampled_from(sorted(set(graph) - closure(graph, chosen))))
    broken, _ = _add_input(broken, index, f"{{{{ steps.{target}.output }}}}")
    return broken, {(("steps", index, "input"), "not_an_ancestor")}


def cycle(broken: WorkflowDefinition, data: st.DataObject) -> tuple[WorkflowDefinition, Expected]:
    """One step made to depend on one of its dependants; expected: a `cycle` error at some step's depends_on."""
    graph = {s.id: list(s.depends_on) for s in broken.steps}
    starts = [index for index, s in enumerate(broken.steps) if len(downstream(graph, s.id)) > 1]
    if not starts:
        return broken, set()
    index = data.draw(st.sampled_from(starts))
    chosen = broken.steps[index]
    later = data.draw(st.sampled_from(sorted(downstream(graph, chosen.id) - {chosen.id})))
    return _replace_step(broken, index, depends_on=(*chosen.depends_on, later)), {
        (("steps", "*", "depends_on"), "cycle")
    }


BREAKAGES: list[Breakage] = [
    bad_id,
    duplicate_id,
    unknown_dependency,
    self_dependency,
    bad_expression,
    bad_when,
    bad_timeout,
    bad_retry,
    bad_schema,
    bad_name,
    unknown_output_step,
]


def assert_reported(errors: list[ErrorDetail], expected: Expected) -> None:
    reported = {(e.loc, e.type) for e in errors}
    for loc, kind in expected:
        if "*" in loc:
            assert any(len(e.loc) == 3 and e.loc[2] == "depends_on" and e.type == kind for e in errors), errors
        else:
            assert (loc, kind) in reported, (loc, kind, errors)


@given(valid_definitions(), st.booleans(), st.lists(st.sampled_from(BREAKAGES), min_size=1, max_size=4), st.data())
def test_every_breakage_of_a_valid_definition_is_reported_at_once(
    valid: WorkflowDefinition, with_cycle: bool, breakages: list[Breakage], data: st.DataObject
) -> None:
    broken, expected = cycle(valid, data) if with_cycle else (valid, set())
    if not expected:
        # References are checked against ancestors, which a cyclic graph does not have.
        broken, expected = non_ancestor_reference(broken, data) if data.draw(st.booleans()) else (broken, set())
    for breakage in breakages:
        broken, more = breakage(broken, data)
        expected |= more

    errors = errors_of(broken)

    assert_reported(errors, expected)
    for error in errors:
        if error.type == "cycle" and len(error.loc) == 3:
            path = re.sub("^the dependencies form a cycle: ", "", error.msg).split(" -> ")
            assert path[0] == path[-1]
            index = error.loc[1]
            assert isinstance(index, int)
            assert broken.steps[index].id == path[0]


chaos_text = st.text(max_size=12) | st.sampled_from(["a", "b", "steps.a.output", "{{ steps.a.output }}", "{{"])
chaos_steps = st.builds(
    StepDefinition,
    id=chaos_text,
    agent=chaos_text,
    input=json_values(max_leaves=4) | chaos_text,
    depends_on=st.lists(chaos_text, max_size=3).map(tuple),
    when=st.none() | chaos_text,
    timeout_ms=st.none() | st.integers(),
    retry=st.none()
    | st.builds(
        StepRetry,
        max_attempts=st.none() | st.integers(),
        initial_backoff_ms=st.none() | st.integers(),
        max_backoff_ms=st.none() | st.integers(),
        backoff_multiplier=st.none() | st.floats(),
        retry_on_status=st.none() | st.lists(st.integers(), max_size=3).map(tuple),
    ),
    on_failure=st.sampled_from(OnFailure),
)


@given(
    st.builds(
        WorkflowDefinition,
        name=chaos_text,
        steps=st.lists(chaos_steps, max_size=5).map(tuple),
        description=st.none() | st.text(max_size=5),
        input_schema=st.none()
        | st.dictionaries(st.sampled_from(["type", "$schema", "$ref", "properties", "x"]), json_values(4)),
        output=st.none() | json_values(max_leaves=4),
    )
)
def test_any_definition_compiles_or_raises_invalid_definition(chaotic: WorkflowDefinition) -> None:
    errors: tuple[ErrorDetail, ...] = ()
    try:
        compile_definition(chaotic)
    except InvalidDefinition as invalid:
        errors = invalid.errors
        assert errors, "an InvalidDefinition must say what is wrong"

    assert all(isinstance(error.loc, tuple) and error.msg for error in errors)
