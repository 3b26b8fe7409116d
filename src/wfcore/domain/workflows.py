"""Workflows: versioned DAGs of steps, each calling an agent.

The edge structures a document into a `WorkflowDefinition` (shape and types); `compile_definition`
checks every rule about the definition on its own and compiles its expressions once, at save time.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import jsonschema
from jsonschema.exceptions import SchemaError

from wfcore.domain.agents import TIMEOUT_RANGE_MS, RetryPolicy
from wfcore.domain.errors import Problems
from wfcore.domain.expressions import Expression, ExpressionError, Template
from wfcore.domain.graph import ancestors, find_cycle, plan_levels
from wfcore.domain.ids import WorkflowId
from wfcore.domain.values import check_name

STEP_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
STEP_ID_MAX_LENGTH = 64
# The base a step's retry override is checked on: the agent's values are unknown at save time, so a field
# the step leaves unset must not make the ones it sets look out of range (a max_backoff_ms under 500).
_PERMISSIVE_RETRY = RetryPolicy(initial_backoff_ms=0, max_backoff_ms=3_600_000)
# What `validator_for` answers for a `$schema` it does not know, instead of guessing the latest draft.
_UNKNOWN_DIALECT = jsonschema.validators.create(meta_schema={})


class WorkflowStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class OnFailure(enum.StrEnum):
    FAIL = "fail"
    CONTINUE = "continue"


@attrs.frozen
class StepRetry:
    """A step's override of its agent's retry policy; unset fields keep the agent's values."""

    max_attempts: int | None = None
    initial_backoff_ms: int | None = None
    max_backoff_ms: int | None = None
    backoff_multiplier: float | None = None
    retry_on_status: tuple[int, ...] | None = None


@attrs.frozen
class StepDefinition:
    id: str
    agent: str
    input: Any = None
    depends_on: tuple[str, ...] = ()
    when: str | None = None
    timeout_ms: int | None = None
    retry: StepRetry | None = None
    on_failure: OnFailure = OnFailure.FAIL


@attrs.frozen
class WorkflowDefinition:
    name: str
    steps: tuple[StepDefinition, ...]
    description: str | None = None
    input_schema: Mapping[str, Any] | None = None
    output: Any = None
    status: WorkflowStatus = WorkflowStatus.ACTIVE


@attrs.frozen
class DefinitionLimits:
    max_steps: int = 500


@attrs.frozen
class CompiledStep:
    definition: StepDefinition
    input: Template
    when: Expression | None
    dependants: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.definition.id


@attrs.frozen
class CompiledWorkflow:
    """A definition checked and ready to execute: expressions compiled, the plan computed."""

    definition: WorkflowDefinition
    steps: Mapping[str, CompiledStep]
    levels: tuple[tuple[str, ...], ...]
    output: Template | None

    @property
    def sinks(self) -> list[str]:
        """Steps with no dependants, in declaration order: their outputs are the default run output."""
        return [step_id for step_id, step in self.steps.items() if not step.dependants]

    def retry_policy(self, step_id: str, agent_policy: RetryPolicy) -> RetryPolicy:
        override = self.steps[step_id].definition.retry
        return agent_policy.overridden(attrs.asdict(override)) if override else agent_policy


def compile_definition(
    definition: WorkflowDefinition, limits: DefinitionLimits = DefinitionLimits()
) -> CompiledWorkflow:
    """Check every rule of one definition and compile it; raise `InvalidDefinition` with all errors."""
    problems = Problems()
    check_name(problems, ("name",), definition.name)
    if definition.description is not None and len(definition.description) > 2000:
        problems.add(("description",), "must be at most 2000 characters long", "string_length")
    if definition.input_schema is not None:
        _check_input_schema(problems, definition.input_schema)
    steps = definition.steps
    if not steps:
        problems.add(("steps",), "a workflow needs at least one step", "too_short")
    if len(steps) > limits.max_steps:
        problems.add(("steps",), f"a workflow may have at most {limits.max_steps} steps", "cap_exceeded")
        problems.raise_invalid_definition()

    known = _check_step_ids(problems, steps)
    dependencies = _check_dependencies(problems, steps, known)
    levels: list[list[str]] = []
    cycle = find_cycle(dependencies)
    if cycle:
        first = cycle[0]
        index = next(i for i, step in enumerate(steps) if step.id == first)
        problems.add(
            ("steps", index, "depends_on"),
            "the dependencies form a cycle: " + " -> ".join(cycle),
            "cycle",
        )
    else:
        levels = plan_levels(dependencies)
    ancestry = ancestors(dependencies, levels) if not cycle else {}

    dependants: dict[str, list[str]] = {step.id: [] for step in steps}
    for step_id, deps in dependencies.items():
        for dep in deps:
            dependants[dep].append(step_id)

    compiled: dict[str, CompiledStep] = {}
    for index, step in enumerate(steps):
        loc = ("steps", index)
        _check_step_settings(problems, loc, step)
        template, errors = Template.compile(step.input)
        problems.extend(errors, *loc, "input")
        _check_refs(problems, (*loc, "input"), template.step_refs, step.id, ancestry)
        when = None
        if step.when is not None:
            try:
                when = Expression.compile(step.when)
            except ExpressionError as error:
                problems.add((*loc, "when"), str(error), "expression")
            else:
                _check_refs(problems, (*loc, "when"), when.step_refs, step.id, ancestry)
        compiled[step.id] = CompiledStep(
            definition=step, input=template, when=when, dependants=tuple(dependants.get(step.id, ()))
        )

    output = None
    if definition.output is not None:
        output, errors = Template.compile(definition.output)
        problems.extend(errors, "output")
        for ref in sorted(output.step_refs - known):
            problems.add(("output",), f"refers to unknown step {ref!r}", "unknown_step")
    problems.raise_invalid_definition()
    return CompiledWorkflow(
        definition=definition,
        steps=compiled,
        levels=tuple(tuple(level) for level in levels),
        output=output,
    )


def _check_input_schema(problems: Problems, schema: Mapping[str, Any]) -> None:
    if "$schema" in schema:
        dialect = schema["$schema"]
        known = isinstance(dialect, str) and (
            jsonschema.validators.validator_for(schema, default=_UNKNOWN_DIALECT) is not _UNKNOWN_DIALECT
        )
        if not known:
            problems.add(
                ("input_schema", "$schema"),
                f"{dialect!r} is not a JSON Schema dialect this service knows (drafts 3 to 2020-12)",
                "json_schema",
            )
            return
    try:
        jsonschema.validators.validator_for(schema).check_schema(dict(schema))
    except SchemaError as error:
        where = "/".join(str(part) for part in error.path)
        problems.add(
            ("input_schema", *error.path),
            f"is not a valid JSON Schema: {error.message}" + (f" (at {where})" if where else ""),
            "json_schema",
        )


def _check_step_ids(problems: Problems, steps: Sequence[StepDefinition]) -> set[str]:
    seen: set[str] = set()
    for index, step in enumerate(steps):
        loc = ("steps", index, "id")
        if len(step.id) > STEP_ID_MAX_LENGTH:
            problems.add(loc, f"must be at most {STEP_ID_MAX_LENGTH} characters long", "string_length")
        elif not STEP_ID_PATTERN.fullmatch(step.id):
            problems.add(loc, "must start with a lowercase letter and contain only a-z, 0-9 and '_'", "string_pattern")
        if step.id in seen:
            problems.add(loc, f"duplicate step id {step.id!r}", "duplicate")
        seen.add(step.id)
    return seen


def _check_dependencies(problems: Problems, steps: Sequence[StepDefinition], known: set[str]) -> dict[str, list[str]]:
    dependencies: dict[str, list[str]] = {}
    for index, step in enumerate(steps):
        valid: list[str] = []
        for position, dep in enumerate(step.depends_on):
            loc = ("steps", index, "depends_on", position)
            if dep == step.id:
                problems.add(loc, f"step {step.id!r} cannot depend on itself", "cycle")
            elif dep not in known:
                problems.add(loc, f"unknown step {dep!r}", "unknown_step")
            elif dep in valid:
                problems.add(loc, f"{dep!r} is listed twice", "duplicate")
            else:
                valid.append(dep)
        dependencies.setdefault(step.id, valid)
    return dependencies


def _check_step_settings(problems: Problems, loc: tuple[str | int, ...], step: StepDefinition) -> None:
    if step.timeout_ms is not None:
        low, high = TIMEOUT_RANGE_MS
        if not low <= step.timeout_ms <= high:
            problems.add((*loc, "timeout_ms"), f"must be between {low} and {high}", "range")
    if step.retry is not None:
        policy = _PERMISSIVE_RETRY.overridden(attrs.asdict(step.retry))
        problems.extend(policy.problems(), *loc, "retry")


def _check_refs(
    problems: Problems,
    loc: tuple[str | int, ...],
    refs: frozenset[str],
    step_id: str,
    ancestry: Mapping[str, set[str]],
) -> None:
    if step_id not in ancestry:
        return
    for ref in sorted(refs - ancestry[step_id]):
        problems.add(
            loc,
            f"refers to step {ref!r}, which is not among the dependencies of {step_id!r}; "
            f"add it to depends_on (directly or through another step)",
            "not_an_ancestor",
        )


@attrs.frozen
class Workflow:
    """The workflow as a whole: its identity, its latest version and its lifecycle."""

    id: WorkflowId
    name: str
    status: WorkflowStatus
    latest_version: int
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None


@attrs.frozen
class WorkflowVersion:
    """One immutable version: the definition and the document exactly as it was saved."""

    workflow_id: WorkflowId
    version: int
    definition: WorkflowDefinition
    document: Mapping[str, Any]
    created_at: datetime
    created_by: str
