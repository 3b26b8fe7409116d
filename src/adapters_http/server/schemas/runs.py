"""Run, step execution and run event bodies (contract §4)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import attrs

from adapters_http.server.converter import unstructure
from adapters_http.server.schemas.common import doc
from adapters_http.server.schemas.rules import VERSION_RULES
from wfcore.domain.events import EventType, RunEvent
from wfcore.domain.ids import RunId, WorkflowId
from wfcore.domain.runs import Run, RunError, RunStatus, StepAttempt, StepError, StepExecution, StepStatus
from wfcore.use_cases.common import Actor
from wfcore.use_cases.execution import ExecuteWorkflow
from wfcore.use_cases.runs import RetryRun


@attrs.frozen
class ExecuteBody:
    """The body of `POST /api/v1/workflows/{workflow_id}/execute` (optional: an empty input by default)."""

    input: Any = attrs.field(factory=dict, metadata=doc("The run's input, checked against the input_schema."))
    version: int | None = attrs.field(
        default=None, metadata=doc("The version to run; default: the latest.", **VERSION_RULES)
    )

    def to_command(self, workflow_id: WorkflowId, idempotency_key: str | None, actor: Actor) -> ExecuteWorkflow:
        return ExecuteWorkflow(
            workflow_id=workflow_id,
            input=self.input,
            version=self.version,
            idempotency_key=idempotency_key,
            actor=actor,
        )


@attrs.frozen
class RetryBody:
    """The optional body of `POST /api/v1/runs/{run_id}/retry`."""

    from_step: str | None = attrs.field(
        default=None, metadata=doc("Also rerun this step and everything downstream of it, even if they succeeded.")
    )

    def to_command(self, run_id: RunId, actor: Actor) -> RetryRun:
        return RetryRun(run_id=run_id, from_step=self.from_step, actor=actor)


@attrs.frozen
class RunErrorResponse:
    code: str = attrs.field(metadata=doc("A stable machine code."))
    message: str = attrs.field(metadata=doc("What went wrong."))
    step_id: str | None = attrs.field(metadata=doc("The step that failed the run, if one did."))

    @classmethod
    def from_error(cls, error: RunError) -> RunErrorResponse:
        return cls(code=error.code, message=error.message, step_id=error.step_id)


@attrs.frozen
class RunResponse:
    """One execution of one workflow version."""

    id: str = attrs.field(metadata=doc("The run's id."))
    workflow_id: str = attrs.field(metadata=doc("The workflow run."))
    workflow_name: str = attrs.field(metadata=doc("Its name in the version run."))
    workflow_version: int = attrs.field(metadata=doc("The version run."))
    status: RunStatus = attrs.field(metadata=doc("pending, running, succeeded, failed or cancelled."))
    input: Any = attrs.field(metadata=doc("The run's input."))
    output: Any = attrs.field(metadata=doc("The run's output once it succeeded."))
    error: RunErrorResponse | None = attrs.field(metadata=doc("Why the run failed."))
    triggered_by: str = attrs.field(metadata=doc("Who executed the workflow."))
    attempt: int = attrs.field(metadata=doc("1, plus one for each retry."))
    created_at: datetime = attrs.field(metadata=doc("When the run was accepted."))
    started_at: datetime | None = attrs.field(metadata=doc("When a worker first started it."))
    finished_at: datetime | None = attrs.field(metadata=doc("When it reached a final state."))
    cancel_requested_at: datetime | None = attrs.field(metadata=doc("When a cancel was asked for."))
    cancelled_at: datetime | None = attrs.field(metadata=doc("When it was cancelled."))
    cancelled_by: str | None = attrs.field(metadata=doc("Who cancelled it."))

    @classmethod
    def from_run(cls, run: Run) -> RunResponse:
        return cls(
            id=run.id,
            workflow_id=run.workflow_id,
            workflow_name=run.workflow_name,
            workflow_version=run.workflow_version,
            status=run.status,
            input=run.input,
            output=run.output,
            error=RunErrorResponse.from_error(run.error) if run.error else None,
            triggered_by=run.triggered_by,
            attempt=run.attempt,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            cancel_requested_at=run.cancel_requested_at,
            cancelled_at=run.cancelled_at,
            cancelled_by=run.cancelled_by,
        )


@attrs.frozen
class StepErrorResponse:
    code: str = attrs.field(metadata=doc("A stable machine code (agent_error, timeout, ...)."))
    message: str = attrs.field(metadata=doc("What went wrong."))
    http_status: int | None = attrs.field(metadata=doc("The status the agent answered, if it answered."))
    body: str | None = attrs.field(metadata=doc("The first 2 KiB of the agent's answer."))

    @classmethod
    def from_error(cls, error: StepError | None) -> StepErrorResponse | None:
        if error is None:
            return None
        return cls(code=error.code, message=error.message, http_status=error.http_status, body=error.body)


@attrs.frozen
class AttemptResponse:
    attempt: int = attrs.field(metadata=doc("1 for the first try."))
    started_at: datetime = attrs.field(metadata=doc("When the call started."))
    finished_at: datetime | None = attrs.field(metadata=doc("When it ended."))
    http_status: int | None = attrs.field(metadata=doc("The agent's status, if it answered."))
    error: StepErrorResponse | None = attrs.field(metadata=doc("Why the attempt failed."))

    @classmethod
    def from_attempt(cls, attempt: StepAttempt) -> AttemptResponse:
        return cls(
            attempt=attempt.attempt,
            started_at=attempt.started_at,
            finished_at=attempt.finished_at,
            http_status=attempt.http_status,
            error=StepErrorResponse.from_error(attempt.error),
        )


@attrs.frozen
class StepResponse:
    """One step of a run."""

    step_id: str = attrs.field(metadata=doc("The step's id in the workflow."))
    agent_id: str | None = attrs.field(metadata=doc("The agent called, once resolved."))
    status: StepStatus = attrs.field(metadata=doc("pending, running, succeeded, failed, skipped or cancelled."))
    input: Any = attrs.field(metadata=doc("The resolved input."))
    output: Any = attrs.field(metadata=doc("The agent's output."))
    error: StepErrorResponse | None = attrs.field(metadata=doc("Why the step failed."))
    attempts: list[AttemptResponse] = attrs.field(metadata=doc("Each call made."))
    started_at: datetime | None = attrs.field(metadata=doc("When the step started."))
    finished_at: datetime | None = attrs.field(metadata=doc("When it ended."))
    duration_ms: float | None = attrs.field(metadata=doc("finished_at - started_at."))

    @classmethod
    def from_step(cls, step: StepExecution) -> StepResponse:
        return cls(
            step_id=step.step_id,
            agent_id=step.agent_id,
            status=step.status,
            input=step.input,
            output=step.output,
            error=StepErrorResponse.from_error(step.error),
            attempts=[AttemptResponse.from_attempt(attempt) for attempt in step.attempts],
            started_at=step.started_at,
            finished_at=step.finished_at,
            duration_ms=step.duration_ms,
        )


@attrs.frozen
class EventResponse:
    """One entry of a run's event log, also the `data` of a server-sent event."""

    seq: int | None = attrs.field(metadata=doc("Position in the log; also the SSE `id`."))
    type: EventType = attrs.field(metadata=doc("What happened."))
    at: datetime = attrs.field(metadata=doc("When."))
    step_id: str | None = attrs.field(metadata=doc("The step concerned, if any."))
    data: dict[str, Any] = attrs.field(metadata=doc("Details of the event."))

    @classmethod
    def from_event(cls, event: RunEvent) -> EventResponse:
        return cls(seq=event.seq, type=event.type, at=event.at, step_id=event.step_id, data=event.data)


@attrs.frozen
class ServerSentEvent:
    """One event of a run's `text/event-stream`, field by field as it is written."""

    id: str = attrs.field(metadata=doc("The event's `seq`: send it back as `Last-Event-ID` to resume after it."))
    event: EventType = attrs.field(metadata=doc("What happened."))
    data: str = attrs.field(
        metadata=doc("The log entry as JSON.", contentMediaType="application/json", content_schema=EventResponse)
    )

    @classmethod
    def from_entry(cls, entry: EventResponse) -> ServerSentEvent:
        return cls(id=str(entry.seq), event=entry.type, data=json.dumps(unstructure(entry)))
