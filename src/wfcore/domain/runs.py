"""Runs and step executions, with their state machines as tables of legal transitions."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from wfcore.domain.errors import IllegalTransition
from wfcore.domain.ids import AgentId, RunId, WorkflowId


class RunStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self in _FINISHED_RUN


_FINISHED_RUN = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})

RUN_TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED}),
    RunStatus.RUNNING: frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.SUCCEEDED: frozenset(),
    RunStatus.FAILED: frozenset({RunStatus.PENDING}),
    RunStatus.CANCELLED: frozenset({RunStatus.PENDING}),
}


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self is not StepStatus.PENDING and self is not StepStatus.RUNNING


STEP_TRANSITIONS: Mapping[StepStatus, frozenset[StepStatus]] = {
    StepStatus.PENDING: frozenset({StepStatus.RUNNING, StepStatus.SKIPPED, StepStatus.CANCELLED}),
    StepStatus.RUNNING: frozenset({StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.CANCELLED, StepStatus.PENDING}),
    # A redrive puts finished steps back to pending; nothing else leaves a finished state.
    StepStatus.SUCCEEDED: frozenset({StepStatus.PENDING}),
    StepStatus.FAILED: frozenset({StepStatus.PENDING}),
    StepStatus.SKIPPED: frozenset({StepStatus.PENDING}),
    StepStatus.CANCELLED: frozenset({StepStatus.PENDING}),
}


@attrs.frozen
class RunError:
    code: str
    message: str
    step_id: str | None = None


@attrs.frozen
class StepError:
    code: str
    message: str
    http_status: int | None = None
    body: str | None = None


@attrs.frozen
class StepAttempt:
    attempt: int
    started_at: datetime
    finished_at: datetime | None = None
    http_status: int | None = None
    error: StepError | None = None


@attrs.frozen
class Lease:
    """Who may write to a run: `token` is the fencing token, bumped at every claim and kept on release."""

    owner: str | None
    expires_at: datetime | None
    token: int

    def is_free(self, now: datetime) -> bool:
        """Released, or expired: a worker may claim it."""
        return self.owner is None or self.expires_at is None or self.expires_at <= now

    def released(self) -> Lease:
        """Given back: free at once, and the token kept, so that the next claim still bumps it."""
        return attrs.evolve(self, owner=None, expires_at=None)


@attrs.frozen
class StepExecution:
    run_id: RunId
    step_id: str
    agent_id: AgentId | None = None
    status: StepStatus = StepStatus.PENDING
    input: Any = None
    output: Any = None
    error: StepError | None = None
    attempts: tuple[StepAttempt, ...] = ()
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds() * 1000

    def to(self, status: StepStatus, **changes: Any) -> StepExecution:
        if status not in STEP_TRANSITIONS[self.status]:
            raise IllegalTransition(
                entity=f"step {self.step_id} of run",
                entity_id=self.run_id,
                current=self.status,
                requested=status,
            )
        return attrs.evolve(self, status=status, **changes)

    def reset(self) -> StepExecution:
        """The step as it is before it ever ran, for a redrive."""
        return StepExecution(run_id=self.run_id, step_id=self.step_id, agent_id=self.agent_id)


@attrs.frozen
class Run:
    id: RunId
    workflow_id: WorkflowId
    workflow_name: str
    workflow_version: int
    status: RunStatus
    input: Any
    triggered_by: str
    created_at: datetime
    output: Any = None
    error: RunError | None = None
    attempt: int = 1
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    request_id: str | None = None
    idempotency_key: str | None = None
    lease: Lease | None = None

    def to(self, status: RunStatus, **changes: Any) -> Run:
        if status not in RUN_TRANSITIONS[self.status]:
            raise IllegalTransition(entity="run", entity_id=self.id, current=self.status, requested=status)
        return attrs.evolve(self, status=status, **changes)

    def start(self, *, at: datetime) -> Run:
        return self.to(RunStatus.RUNNING, started_at=self.started_at or at)

    def succeed(self, *, output: Any, at: datetime) -> Run:
        return self.to(RunStatus.SUCCEEDED, output=output, finished_at=at, error=None)

    def fail(self, *, error: RunError, at: datetime) -> Run:
        return self.to(RunStatus.FAILED, error=error, finished_at=at)

    def request_cancel(self, *, by: str, at: datetime) -> Run:
        """Cancel a pending run at once; for a running one record the request the worker acts on."""
        if self.status is RunStatus.CANCELLED:
            return self
        if self.status is RunStatus.PENDING:
            return self.to(
                RunStatus.CANCELLED, cancel_requested_at=at, cancelled_at=at, cancelled_by=by, finished_at=at
            )
        if self.status is RunStatus.RUNNING:
            if self.cancel_requested_at is not None:
                return self
            return attrs.evolve(self, cancel_requested_at=at, cancelled_by=by)
        raise IllegalTransition(entity="run", entity_id=self.id, current=self.status, requested="cancelled")

    def confirm_cancel(self, *, at: datetime) -> Run:
        return self.to(RunStatus.CANCELLED, cancelled_at=at, finished_at=at)

    def redrive(self, *, request_id: str | None) -> Run:
        """Back to pending for another attempt; succeeded steps keep their outputs (the caller resets the rest).

        `request_id` is the retry request's: the agent calls of the new attempt carry it (contract §2).
        """
        return self.to(
            RunStatus.PENDING,
            attempt=self.attempt + 1,
            request_id=request_id,
            output=None,
            error=None,
            finished_at=None,
            cancel_requested_at=None,
            cancelled_at=None,
            cancelled_by=None,
        )

    @property
    def idempotency_prefix(self) -> str:
        return f"{self.id}:"

    def agent_idempotency_key(self, step_id: str) -> str:
        """Stable for every automatic attempt and redelivery of a step; new with each run attempt."""
        return f"{self.id}:{step_id}:{self.attempt}"
