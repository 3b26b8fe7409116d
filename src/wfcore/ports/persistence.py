"""Persistence ports: one repository per aggregate, reached through a unit of work."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

import attrs

from wfcore.domain.agents import Agent, HealthResult
from wfcore.domain.audit import AuditEntry, EntityType
from wfcore.domain.events import RunEvent
from wfcore.domain.ids import AgentId, RunId, WorkflowId
from wfcore.domain.runs import Run, RunStatus, StepExecution
from wfcore.domain.workflows import Workflow, WorkflowVersion
from wfcore.ports.dispatch import Dispatch, Outbox

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    limit: int
    offset: int


@attrs.frozen
class Sort:
    """A sort field and direction, parsed from `name` / `-name`."""

    field: str
    descending: bool = False


@attrs.frozen
class AgentQuery:
    status: str | None = None
    name_contains: str | None = None
    sort: Sort = Sort("created_at")
    limit: int = 20
    offset: int = 0


@attrs.frozen
class WorkflowQuery:
    status: str | None = None
    name_contains: str | None = None
    sort: Sort = Sort("created_at")
    limit: int = 20
    offset: int = 0


@attrs.frozen
class RunQuery:
    workflow_id: WorkflowId | None = None
    statuses: tuple[RunStatus, ...] = ()
    triggered_by: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    sort: Sort = Sort("created_at", descending=True)
    limit: int = 20
    offset: int = 0


@attrs.frozen
class AuditQuery:
    entity_type: EntityType | None = None
    entity_id: str | None = None
    user_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    offset: int = 0


class AgentRepository(Protocol):
    async def add(self, agent: Agent) -> None:
        """Store a new agent; `Conflict` if a live agent already has its name."""

    async def get(self, agent_id: AgentId) -> Agent:
        """The live agent with this id; `NotFound` otherwise (deleted agents included)."""

    async def get_by_name(self, name: str) -> Agent:
        """The live agent with this name; `NotFound` otherwise."""

    async def update(self, agent: Agent) -> None:
        """Overwrite a stored agent; `Conflict` if its new name is taken by another live agent."""

    async def record_health(self, agent_id: AgentId, result: HealthResult) -> None: ...

    async def list(self, query: AgentQuery) -> Page[Agent]: ...


class WorkflowRepository(Protocol):
    async def add(self, workflow: Workflow, version: WorkflowVersion) -> None:
        """Store a new workflow and its first version; `Conflict` if the name is taken."""

    async def add_version(self, workflow: Workflow, version: WorkflowVersion) -> None:
        """Store version N+1 and move the workflow to it; `Conflict` if N+1 exists already."""

    async def get(
        self, workflow_id: WorkflowId, *, include_deleted: bool = False, for_update: bool = False
    ) -> Workflow:
        """The workflow; with `for_update` its row stays locked until the unit of work ends."""

    async def get_version(self, workflow_id: WorkflowId, version: int) -> WorkflowVersion: ...

    async def get_with_version(
        self, workflow_id: WorkflowId, version: int | None = None
    ) -> tuple[Workflow, WorkflowVersion]:
        """The live workflow and one of its versions (the latest when None), read together."""

    async def update(self, workflow: Workflow) -> None:
        """Overwrite the workflow's own fields (status, deletion), never a version."""

    async def list(self, query: WorkflowQuery) -> Page[Workflow]: ...

    async def list_versions(self, workflow_id: WorkflowId, *, limit: int, offset: int) -> Page[WorkflowVersion]: ...


class RunRepository(Protocol):
    """A run owns its step executions and its event log."""

    async def add(self, run: Run, steps: Sequence[StepExecution]) -> None: ...

    async def get(self, run_id: RunId, *, for_update: bool = False) -> Run:
        """The run; with `for_update` the row stays locked until the unit of work ends."""

    async def get_many(self, run_ids: Sequence[RunId], *, for_update: bool = False) -> dict[RunId, Run]:
        """The runs found among `run_ids`; with `for_update` their rows stay locked until the unit of work ends."""

    async def find_by_idempotency_key(self, workflow_id: WorkflowId, key: str) -> Run | None: ...

    async def update(self, run: Run, steps: Sequence[StepExecution] = ()) -> None:
        """Write the run and the given steps. When `run.lease` is set, only if its token is current."""

    async def save_progress(self, changed: Sequence[Run], steps: Sequence[StepExecution]) -> None:
        """Write what executing changes (status, output, error, times, cancel, lease holder) and the steps.

        For the engine's writes to runs whose rows this unit of work locked with `get_many(for_update=True)`
        and whose lease tokens it checked: nothing else is written, and nothing is checked again.
        """

    async def steps(self, run_id: RunId) -> builtins.list[StepExecution]: ...

    async def append_events(self, events: Sequence[RunEvent]) -> None: ...

    async def events(self, run_id: RunId, *, after_seq: int = 0) -> builtins.list[RunEvent]: ...

    async def list(self, query: RunQuery) -> Page[Run]: ...

    async def claim(self, run_id: RunId, *, owner: str, now: datetime, expires_at: datetime) -> Run | None:
        """Compare-and-set: take the lease of a pending or running run whose lease is free or expired.

        Returns the run with its new lease (fencing token + 1), or None when it is finished or held.
        """

    async def renew(self, run_id: RunId, *, token: int, expires_at: datetime) -> bool:
        """Extend a lease still held with `token`; False if it was lost."""

    async def release(self, run_id: RunId, *, token: int) -> None: ...

    async def claimable(
        self, *, now: datetime, limit: int, pending_before: datetime | None = None
    ) -> builtins.list[RunId]:
        """Runs waiting for a worker, oldest first: pending ones, and running ones whose lease expired.

        With `pending_before`, a pending run never claimed is left out unless it was created before then
        (a newer one's dispatch is on its way to a worker).
        """


@attrs.frozen
class HeldChange:
    """A change to a run that its holder computed from the run as it last committed it, without locking it."""

    expected: Run
    run: Run
    steps: Sequence[StepExecution]
    events: Sequence[RunEvent]

    def still_applies_to(self, stored: Run) -> bool:
        """Whether the run as stored is still the one the change was computed from.

        Held with the expected token, in the expected status, and no cancel requested: nothing else of a run
        changes while it is held, except the lease's expiry, which renewals move.
        """
        lease, expected = stored.lease, self.expected.lease
        return (
            lease is not None
            and expected is not None
            and lease.owner is not None
            and lease.token == expected.token
            and stored.status is self.expected.status
            and stored.cancel_requested_at is None
        )


class FencedWrites(Protocol):
    """The engine's writes without a transaction's round trips, for databases that answer over a network."""

    async def save_if_unchanged(self, changes: Sequence[HeldChange]) -> set[RunId]:
        """Save, atomically, each change whose run `still_applies_to` the run as stored; leave the others unsaved.

        Returns the ids of the runs saved. The lease's expiry is kept as stored unless the change releases the
        lease (a renewal may have moved it since the change's run was read).
        """


@attrs.frozen
class ExecutionReads:
    """What executing a claimed run reads besides the run: its steps, and the agents its steps name."""

    steps: builtins.list[StepExecution]
    agents: builtins.list[Agent]
    """The live agents whose id or name is one of the references asked for (one agent may match several)."""


class DirectClaims(Protocol):
    """The engine's claim without a transaction's round trips, for databases that answer over a network."""

    async def claim(self, run_id: RunId, *, owner: str, now: datetime, expires_at: datetime) -> Run | None:
        """`RunRepository.claim`, committed at once."""

    async def execution_reads(self, run_id: RunId, agent_references: Collection[str]) -> ExecutionReads:
        """The run's steps in order, and the live agents named (by id or by name) in `agent_references`.

        Reads what was committed before the call, so a claim's reads see every write of the run's earlier holder.
        """


@attrs.frozen
class NewRun:
    """A run as executing a workflow creates it, with what is stored with it in the same commit."""

    run: Run
    steps: Sequence[StepExecution]
    events: Sequence[RunEvent]
    audit: AuditEntry
    dispatch: Dispatch


class DirectStarts(Protocol):
    """Storing a new run without a transaction's round trips, for databases that answer over a network."""

    async def start(self, new: NewRun, *, latest_version: int | None) -> bool:
        """Store `new` and commit at once, if its workflow is live and active, has the run's version, its latest
        version is `latest_version` (unless None), and no run of the workflow has its idempotency key.

        False, with nothing stored, when one of those does not hold.
        """


class AuditLog(Protocol):
    async def append(self, entry: AuditEntry) -> None: ...

    async def list(self, query: AuditQuery) -> Page[AuditEntry]: ...


class UnitOfWork(Protocol):
    """One transaction. Changes are rolled back unless `commit` is awaited inside the block."""

    agents: AgentRepository
    workflows: WorkflowRepository
    runs: RunRepository
    audit: AuditLog
    outbox: Outbox

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
