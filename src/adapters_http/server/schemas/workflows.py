"""Workflow request and response bodies (contract §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from adapters_http.server.converter import unstructure
from adapters_http.server.schemas import rules
from adapters_http.server.schemas.common import doc
from wfcore.domain.workflows import (
    OnFailure,
    StepDefinition,
    StepRetry,
    Workflow,
    WorkflowDefinition,
    WorkflowStatus,
    WorkflowVersion,
)
from wfcore.use_cases.workflows import ValidationReport


@attrs.frozen
class StepRetryBody:
    """A step's override of its agent's retry policy; fields left out keep the agent's values."""

    max_attempts: int | None = attrs.field(default=None, metadata=doc("Tries in all.", **rules.ATTEMPTS_RULES))
    initial_backoff_ms: int | None = attrs.field(
        default=None, metadata=doc("The first backoff ceiling.", **rules.BACKOFF_RULES)
    )
    max_backoff_ms: int | None = attrs.field(
        default=None, metadata=doc("The largest backoff ceiling.", **rules.BACKOFF_RULES)
    )
    backoff_multiplier: float | None = attrs.field(
        default=None, metadata=doc("Growth of the ceiling.", **rules.MULTIPLIER_RULES)
    )
    retry_on_status: list[int] | None = attrs.field(
        default=None, metadata=doc("Statuses worth another try.", **rules.STATUSES_RULES)
    )

    def to_retry(self) -> StepRetry:
        return StepRetry(
            max_attempts=self.max_attempts,
            initial_backoff_ms=self.initial_backoff_ms,
            max_backoff_ms=self.max_backoff_ms,
            backoff_multiplier=self.backoff_multiplier,
            retry_on_status=None if self.retry_on_status is None else tuple(self.retry_on_status),
        )


@attrs.frozen
class StepBody:
    """One step: a call to an agent with a templated input."""

    id: str = attrs.field(metadata=doc("Unique in the workflow.", **rules.STEP_ID_RULES))
    agent: str = attrs.field(metadata=doc("The name or id of an active agent."))
    input: Any = attrs.field(
        default=None,
        metadata=doc(
            "Any JSON; a string `{{ expr }}` is replaced by the JMESPath value, inside text it is interpolated."
        ),
    )
    depends_on: list[str] = attrs.field(factory=list, metadata=doc("Ids of the steps that must finish first."))
    when: str | None = attrs.field(default=None, metadata=doc("A JMESPath condition; falsy skips the step."))
    timeout_ms: int | None = attrs.field(
        default=None, metadata=doc("Overrides the agent's timeout.", **rules.TIMEOUT_RULES)
    )
    retry: StepRetryBody | None = attrs.field(default=None, metadata=doc("Overrides the agent's retry policy."))
    on_failure: OnFailure = attrs.field(
        default=OnFailure.FAIL, metadata=doc("fail: the run fails; continue: dependants still run.")
    )

    def to_definition(self) -> StepDefinition:
        return StepDefinition(
            id=self.id,
            agent=self.agent,
            input=self.input,
            depends_on=tuple(self.depends_on),
            when=self.when,
            timeout_ms=self.timeout_ms,
            retry=self.retry.to_retry() if self.retry else None,
            on_failure=self.on_failure,
        )


@attrs.frozen
class WorkflowBody:
    """A workflow definition: the body of create, update and validate; stored exactly as sent."""

    name: str = attrs.field(metadata=doc("Unique among workflows that are not deleted.", **rules.NAME_RULES))
    steps: list[StepBody] = attrs.field(
        metadata=doc("The steps, forming an acyclic graph (500 at most by default).", minItems=1)
    )
    description: str | None = attrs.field(
        default=None, metadata=doc("What the workflow does.", **rules.DESCRIPTION_RULES)
    )
    input_schema: dict[str, Any] | None = attrs.field(
        default=None, metadata=doc("A JSON Schema every run's input must match.")
    )
    output: Any = attrs.field(
        default=None, metadata=doc("The run output template; default: the outputs of the final steps.")
    )
    status: WorkflowStatus = attrs.field(default=WorkflowStatus.ACTIVE, metadata=doc("Only active ones execute."))

    def to_definition(self) -> WorkflowDefinition:
        return WorkflowDefinition(
            name=self.name,
            steps=tuple(step.to_definition() for step in self.steps),
            description=self.description,
            input_schema=self.input_schema,
            output=self.output,
            status=self.status,
        )


@attrs.frozen
class WorkflowMeta:
    """What a stored version adds to its document. A version reads as its `WorkflowBody` merged with this."""

    id: str = attrs.field(metadata=doc("The workflow's id."))
    version: int = attrs.field(metadata=doc("The version number, from 1."))
    status: WorkflowStatus = attrs.field(metadata=doc("The workflow's current status."))
    created_at: datetime = attrs.field(metadata=doc("When this version was saved."))
    created_by: str = attrs.field(metadata=doc("Who saved this version."))
    updated_at: datetime = attrs.field(metadata=doc("When the workflow last changed."))


def _merged(name: str, doc: str, *parts: type[Any]) -> type[Any]:
    """An attrs class with the fields of `parts` (a later part's field wins), for documents built as merges."""
    fields = {
        field.name: attrs.field(default=field.default, metadata=field.metadata, type=field.type)
        for part in parts
        for field in attrs.fields(part)
    }
    merged = attrs.make_class(name, fields, kw_only=True, frozen=True)
    merged.__doc__ = doc
    return merged


WorkflowVersionResponse = _merged(
    "WorkflowVersionResponse",
    """One version of a workflow: its definition exactly as saved, plus the `WorkflowMeta` fields.

    The schema of what `version_response` builds: the saved document keeps only the fields it was sent with.
    """,
    WorkflowBody,
    WorkflowMeta,
)


def version_response(version: WorkflowVersion, workflow: Workflow | None = None) -> dict[str, Any]:
    """The document exactly as saved, with the `WorkflowMeta` fields.

    Without `workflow`, the version was just saved: the workflow took its status and its time.
    """
    meta = WorkflowMeta(
        id=version.workflow_id,
        version=version.version,
        status=workflow.status if workflow else version.definition.status,
        created_at=version.created_at,
        created_by=version.created_by,
        updated_at=workflow.updated_at if workflow else version.created_at,
    )
    return {**version.document, **unstructure(meta)}


@attrs.frozen
class WorkflowSummary:
    """A workflow in a list: its identity and latest version, without the definition."""

    id: str = attrs.field(metadata=doc("The workflow's id."))
    name: str = attrs.field(metadata=doc("The name of the latest version."))
    status: WorkflowStatus = attrs.field(metadata=doc("active or inactive."))
    version: int = attrs.field(metadata=doc("The latest version."))
    created_at: datetime = attrs.field(metadata=doc("When version 1 was saved."))
    created_by: str = attrs.field(metadata=doc("Who created the workflow."))
    updated_at: datetime = attrs.field(metadata=doc("When the workflow last changed."))

    @classmethod
    def from_workflow(cls, workflow: Workflow) -> WorkflowSummary:
        return cls(
            id=workflow.id,
            name=workflow.name,
            status=workflow.status,
            version=workflow.latest_version,
            created_at=workflow.created_at,
            created_by=workflow.created_by,
            updated_at=workflow.updated_at,
        )


@attrs.frozen
class PlannedStepResponse:
    step_id: str = attrs.field(metadata=doc("The step."))
    agent_id: str = attrs.field(metadata=doc("The agent it calls."))
    agent_name: str = attrs.field(metadata=doc("That agent's name."))


@attrs.frozen
class PlanResponse:
    levels: list[list[PlannedStepResponse]] = attrs.field(
        metadata=doc("Levels in execution order; the steps of one level run in parallel.")
    )


@attrs.frozen
class ValidationResponse:
    """The answer of `POST /api/v1/workflows/validate` for a valid definition (an invalid one is a 422)."""

    valid: bool = attrs.field(metadata=doc("Always true: an invalid definition is a 422 problem."))
    plan: PlanResponse = attrs.field(metadata=doc("How the steps would execute."))

    @classmethod
    def from_report(cls, report: ValidationReport) -> ValidationResponse:
        levels = [
            [PlannedStepResponse(step_id=s.step_id, agent_id=s.agent_id, agent_name=s.agent_name) for s in level]
            for level in report.levels
        ]
        return cls(valid=report.valid, plan=PlanResponse(levels=levels))
