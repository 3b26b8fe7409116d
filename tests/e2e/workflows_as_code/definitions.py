"""Hypothesis strategies for workflow documents as clients send them: valid ones, and broken variants.

The graphs and the input templates come from the unit tests' strategies (`unit.graphs`,
`unit.definitions`), so that a valid document here is valid for the same reasons there.
"""

from __future__ import annotations

import copy
from typing import Any

import attrs
from hypothesis import strategies as st

from unit.definitions import VALID_SCHEMAS, step_inputs
from unit.graphs import closure, dags

AGENTS = ("echo", "writer")
# Text a client may store anywhere: any character but NUL (refused by PostgreSQL, so by both backends)
# and braces, which would make a template of it.
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00{}"), max_size=12)
JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


@st.composite
def valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid workflow document using the agents `echo` and `writer`; every optional field sometimes."""
    graph = draw(dags(max_nodes=8))
    steps = []
    for step_id, deps in graph.items():
        ancestors = sorted(closure(graph, step_id))
        step: dict[str, Any] = {"id": step_id, "agent": draw(st.sampled_from(AGENTS))}
        if draw(st.booleans()):
            step["input"] = {**draw(step_inputs(ancestors)), "data": draw(JSON_VALUES)}
        explicit_empty: bool = draw(st.booleans())
        if deps or explicit_empty:
            step["depends_on"] = list(deps)
        with_when: bool = draw(st.booleans())
        if ancestors and with_when:
            step["when"] = f"steps.{draw(st.sampled_from(ancestors))}.status == 'succeeded'"
        if draw(st.booleans()):
            step["timeout_ms"] = draw(st.integers(100, 600_000))
        if draw(st.booleans()):
            step["retry"] = draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "max_attempts": st.integers(1, 10),
                        "initial_backoff_ms": st.integers(0, 1000),
                        "retry_on_status": st.lists(st.sampled_from([408, 429, 500, 502, 503, 504]), unique=True),
                    },
                )
            )
        if draw(st.booleans()):
            step["on_failure"] = draw(st.sampled_from(["fail", "continue"]))
        steps.append(step)
    optional = {
        "description": TEXT,
        "input_schema": st.sampled_from([schema for schema in VALID_SCHEMAS if schema is not None]),
        "output": step_inputs(sorted(graph)),
        "status": st.sampled_from(["active", "inactive"]),
    }
    name = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True))
    return draw(st.fixed_dictionaries({"name": st.just(name), "steps": st.just(steps)}, optional=optional))


@attrs.frozen
class Broken:
    """A document broken on purpose, and where the service must say it is broken."""

    document: Any
    loc: tuple[str | int, ...]
    type: str | None = None

    def is_reported_in(self, errors: list[dict[str, Any]]) -> bool:
        """Whether one of `errors` is at `loc` (or inside it) and, when `type` is set, of that type."""
        return any(
            tuple(error["loc"][: len(self.loc)]) == self.loc and self.type in (None, error["type"]) for error in errors
        )


# Values of the wrong type or out of range, by the field they are put in; `{i}` is a step's index.
WRONG_VALUES: dict[tuple[str, ...], list[Any]] = {
    ("name",): [123, None, "", "no spaces allowed", ["a"], "x" * 101],
    ("steps",): ["nope", {}, [], None, [None]],
    ("steps", "{i}"): [5, "step", [], True],
    ("steps", "{i}", "id"): ["", "Upper", "1abc", "has-dash", "x" * 65, 7],
    ("steps", "{i}", "agent"): [7, None, "nobody"],
    ("steps", "{i}", "depends_on"): ["a", {"a": 1}, [1], ["ghost"]],
    ("steps", "{i}", "timeout_ms"): ["fast", True, 1.5, 0, 10**9],
    ("steps", "{i}", "retry"): [[], {"max_attempts": 0}, {"max_attempts": "3"}, {"bogus": 1}],
    ("steps", "{i}", "on_failure"): ["maybe", 1, None],
    ("steps", "{i}", "when"): [5, "][", "steps.", "steps.ghost.status == 'failed'"],
    ("steps", "{i}", "input"): ["{{ ][ }}", {"x": "{{ steps.ghost.output }}"}, "\x00"],
    ("steps", "{i}", "surprise"): [1, None],
    ("description",): [5, "x" * 2001, "\x00"],
    ("input_schema",): ["schema", {"type": 5}, {"$schema": "https://example.com/unknown"}],
    ("status",): ["paused", True],
    ("surprise",): [1, "x"],
}


@st.composite
def broken_documents(draw: st.DrawFn) -> Broken:
    """A valid document with one thing broken: a field's type or value, a dependency cycle, or the body itself."""
    document = copy.deepcopy(draw(valid_documents()))
    kind = draw(st.sampled_from(["field", "field", "field", "cycle", "body"]))
    if kind == "body":
        return Broken(draw(JSON_SCALARS | st.lists(JSON_VALUES, max_size=3)), ())
    if kind == "cycle":
        return _with_a_cycle(draw, document)
    field = draw(st.sampled_from(sorted(WRONG_VALUES, key=str)))
    index = draw(st.integers(0, len(document["steps"]) - 1))
    loc = tuple(index if part == "{i}" else part for part in field)
    *parents, last = loc
    target: Any = document
    for part in parents:
        target = target[part]
    target[last] = draw(st.sampled_from(WRONG_VALUES[field]))
    return Broken(document, loc)


def _with_a_cycle(draw: st.DrawFn, document: dict[str, Any]) -> Broken:
    steps = document["steps"]
    index = draw(st.integers(0, len(steps) - 1))
    step = steps[index]
    if not step.get("depends_on"):
        step["depends_on"] = [step["id"]]
        return Broken(document, ("steps", index, "depends_on"), "cycle")
    dep = next(other for other in steps if other["id"] == step["depends_on"][0])
    dep["depends_on"] = [*dep.get("depends_on", []), step["id"]]
    return Broken(document, ("steps",), "cycle")
