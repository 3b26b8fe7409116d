"""Building workflow definitions in tests, and Hypothesis strategies for valid ones."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from unit.graphs import closure, dags
from wfcore.domain.workflows import OnFailure, StepDefinition, StepRetry, WorkflowDefinition


def step(step_id: str, agent: str = "echo", *depends_on: str, **fields: Any) -> StepDefinition:
    return StepDefinition(id=step_id, agent=agent, depends_on=tuple(depends_on), **fields)


def definition(*steps: StepDefinition, name: str = "wf", **fields: Any) -> WorkflowDefinition:
    return WorkflowDefinition(name=name, steps=tuple(steps), **fields)


VALID_SCHEMAS = [
    None,
    {"type": "object"},
    {"type": "object", "required": ["ticket"], "properties": {"ticket": {"type": "object"}}},
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"},
]


@st.composite
def step_inputs(draw: st.DrawFn, readable: list[str]) -> Any:
    """An input template reading `input`, `run` and only the given steps."""
    paths = ["input.ticket", "input.n", "run.id", "run.attempt"]
    paths += [f"steps.{step_id}.output" for step_id in readable]
    paths += [f"steps.{step_id}.status" for step_id in readable]
    picked = draw(st.lists(st.sampled_from(paths), max_size=3))
    return {
        f"k{index}": draw(st.sampled_from([f"{{{{ {path} }}}}", f"text {{{{ {path} }}}}"]))
        for index, path in enumerate(picked)
    }


@st.composite
def valid_definitions(draw: st.DrawFn) -> WorkflowDefinition:
    """Random valid definitions: any DAG, expressions reading only ancestors, settings in range."""
    graph = draw(dags(max_nodes=15))
    steps = []
    for step_id, deps in graph.items():
        ancestors = sorted(closure(graph, step_id))
        when = None
        if draw(st.booleans()) and ancestors:
            when = f"steps.{draw(st.sampled_from(ancestors))}.status == 'succeeded'"
        steps.append(
            StepDefinition(
                id=step_id,
                agent=draw(st.sampled_from(["echo", "writer"])),
                input=draw(step_inputs(ancestors)),
                depends_on=tuple(deps),
                when=when,
                timeout_ms=draw(st.none() | st.integers(100, 600_000)),
                retry=draw(st.none() | st.builds(StepRetry, max_attempts=st.none() | st.integers(1, 10))),
                on_failure=draw(st.sampled_from(OnFailure)),
            )
        )
    output = draw(st.none() | step_inputs(sorted(graph)))
    return WorkflowDefinition(
        name=draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)),
        steps=tuple(steps),
        input_schema=draw(st.sampled_from(VALID_SCHEMAS)),
        output=output,
    )
