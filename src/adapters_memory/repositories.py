"""In-memory repositories. They behave like the database ones: the contract suite runs on both."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs

from adapters_memory.store import Journal, MemoryStore
from wfcore.domain.agents import Agent, HealthResult
from wfcore.domain.audit import AuditEntry
from wfcore.domain.errors import Conflict, DuplicateIdempotencyKey, LeaseLost, NotFound
from wfcore.domain.events import RunEvent
from wfcore.domain.ids import AgentId, RunId, WorkflowId
from wfcore.domain.runs import Lease, Run, RunStatus, StepExecution
from wfcore.domain.workflows import Workflow, WorkflowVersion
from wfcore.ports.dispatch import Dispatch
from wfcore.ports.persistence import AgentQuery, AuditQuery, Page, RunQuery, Sort, WorkflowQuery

T = TypeVar("T")


def _page(items: Iterable[T], sort: Sort | None, limit: int, offset: int) -> Page[T]:
    rows = list(items)
    if sort is not None:
        present = [row for row in rows if getattr(row, sort.field) is not None]
        absent = [row for row in rows if getattr(row, sort.field) is None]
        present.sort(key=lambda row: _sort_key(getattr(row, sort.field)), reverse=sort.descending)
        # Nulls sort last ascending and first descending, as in PostgreSQL.
        rows = absent + present if sort.descending else present + absent
    return Page(items=rows[offset : offset + limit], total=len(rows), limit=limit, offset=offset)


def _sort_key(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@attrs.define
class _Repository:
    store: MemoryStore
    journal: Journal


class MemoryAgentRepository(_Repository):
    def _live(self) -> Iterable[Agent]:
        return (agent for agent in self.store.agents.values() if agent.deleted_at is None)

    def _check_name(self, agent: Agent) -> None:
        if any(other.name == agent.name and other.id != agent.id for other in self._live()):
            raise Conflict(f"an agent named {agent.name!r} exists already; choose another name")

    async def add(self, agent: Agent) -> None:
        self._check_name(agent)
        self.journal.put(self.store.agents, agent.id, agent)

    async def get(self, agent_id: AgentId) -> Agent:
        agent = self.store.agents.get(agent_id)
        if agent is None or agent.deleted_at is not None:
            raise NotFound(entity="agent", entity_id=agent_id)
        return agent

    async def get_by_name(self, name: str) -> Agent:
        for agent in self._live():
            if agent.name == name:
                return agent
        raise NotFound(entity="agent", entity_id=name)

    async def update(self, agent: Agent) -> None:
        await self.get(agent.id)
        if agent.deleted_at is None:
            self._check_name(agent)
        self.journal.put(self.store.agents, agent.id, agent)

    async def record_health(self, agent_id: AgentId, result: HealthResult) -> None:
        agent = await self.get(agent_id)
        self.journal.put(self.store.agents, agent_id, attrs.evolve(agent, last_health=result))

    async def list(self, query: AgentQuery) -> Page[Agent]:
        rows = [
            agent
            for agent in self._live()
            if (query.status is None or agent.status == query.status)
            and (query.name_contains is None or query.name_contains.lower() in agent.name.lower())
        ]
        return _page(rows, query.sort, query.limit, query.offset)


class MemoryWorkflowRepository(_Repository):
    def _check_name(self, workflow: Workflow) -> None:
        for other in self.store.workflows.values():
            if other.deleted_at is None and other.name == workflow.name and other.id != workflow.id:
                raise Conflict(f"a workflow named {workflow.name!r} exists already; choose another name")

    async def add(self, workflow: Workflow, version: WorkflowVersion) -> None:
        self._check_name(workflow)
        self.journal.put(self.store.workflows, workflow.id, workflow)
        self.journal.put(self.store.versions, (workflow.id, version.version), version)

    async def add_version(self, workflow: Workflow, version: WorkflowVersion) -> None:
        if (workflow.id, version.version) in self.store.versions:
            raise Conflict(f"version {version.version} of workflow {workflow.id} exists already; retry")
        self._check_name(workflow)
        self.journal.put(self.store.workflows, workflow.id, workflow)
        self.journal.put(self.store.versions, (workflow.id, version.version), version)

    async def get(
        self, workflow_id: WorkflowId, *, include_deleted: bool = False, for_update: bool = False
    ) -> Workflow:
        workflow = self.store.workflows.get(workflow_id)
        if workflow is None or (workflow.deleted_at is not None and not include_deleted):
            raise NotFound(entity="workflow", entity_id=workflow_id)
        return workflow

    async def get_version(self, workflow_id: WorkflowId, version: int) -> WorkflowVersion:
        found = self.store.versions.get((workflow_id, version))
        if found is None:
            raise NotFound(entity=f"version of workflow {workflow_id}", entity_id=str(version))
        return found

    async def get_with_version(
        self, workflow_id: WorkflowId, version: int | None = None
    ) -> tuple[Workflow, WorkflowVersion]:
        workflow = await self.get(workflow_id)
        return workflow, await self.get_version(workflow_id, workflow.latest_version if version is None else version)

    async def update(self, workflow: Workflow) -> None:
        await self.get(workflow.id)
        self.journal.put(self.store.workflows, workflow.id, workflow)

    async def list(self, query: WorkflowQuery) -> Page[Workflow]:
        rows = [
            workflow
            for workflow in self.store.workflows.values()
            if workflow.deleted_at is None
            and (query.status is None or workflow.status == query.status)
            and (query.name_contains is None or query.name_contains.lower() in workflow.name.lower())
        ]
        return _page(rows, query.sort, query.limit, query.offset)

    async def list_versions(self, workflow_id: WorkflowId, *, limit: int, offset: int) -> Page[WorkflowVersion]:
        rows = [v for (wid, _), v in self.store.versions.items() if wid == workflow_id]
        return _page(rows, Sort("version", descending=True), limit, offset)


class MemoryRunRepository(_Repository):
    async def add(self, run: Run, steps: Sequence[StepExecution]) -> None:
        if run.idempotency_key is not None and await self.find_by_idempotency_key(run.workflow_id, run.idempotency_key):
            raise DuplicateIdempotencyKey("a run with this idempotency key exists already")
        self.journal.put(self.store.runs, run.id, run)
        self.journal.put(self.store.steps, run.id, {step.step_id: step for step in steps})

    async def get(self, run_id: RunId, *, for_update: bool = False) -> Run:
        run = self.store.runs.get(run_id)
        if run is None:
            raise NotFound(entity="run", entity_id=run_id)
        return run

    async def get_many(self, run_ids: Sequence[RunId], *, for_update: bool = False) -> dict[RunId, Run]:
        return {run_id: self.store.runs[run_id] for run_id in run_ids if run_id in self.store.runs}

    async def find_by_idempotency_key(self, workflow_id: WorkflowId, key: str) -> Run | None:
        for run in self.store.runs.values():
            if run.workflow_id == workflow_id and run.idempotency_key == key:
                return run
        return None

    async def update(self, run: Run, steps: Sequence[StepExecution] = ()) -> None:
        current = await self.get(run.id)
        if run.lease is not None and (current.lease is None or current.lease.token != run.lease.token):
            raise LeaseLost(run_id=run.id, token=run.lease.token)
        self.journal.put(self.store.runs, run.id, attrs.evolve(run, lease=current.lease))
        self._write_steps(steps)

    async def save_progress(self, changed: Sequence[Run], steps: Sequence[StepExecution]) -> None:
        for run in changed:
            self.journal.put(self.store.runs, run.id, run)
        self._write_steps(steps)

    def _write_steps(self, steps: Sequence[StepExecution]) -> None:
        tables: dict[RunId, dict[str, StepExecution]] = {}
        for step in steps:
            tables.setdefault(step.run_id, dict(self.store.steps[step.run_id]))[step.step_id] = step
        for run_id, table in tables.items():
            self.journal.put(self.store.steps, run_id, table)

    async def steps(self, run_id: RunId) -> builtins.list[StepExecution]:
        return list(self.store.steps.get(run_id, {}).values())

    async def append_events(self, events: Sequence[RunEvent]) -> None:
        for event in events:
            self.journal.append(self.store.events, attrs.evolve(event, seq=len(self.store.events) + 1))

    async def events(self, run_id: RunId, *, after_seq: int = 0) -> builtins.list[RunEvent]:
        return [e for e in self.store.events[after_seq:] if e.run_id == run_id]

    async def list(self, query: RunQuery) -> Page[Run]:
        def wanted(run: Run) -> bool:
            return (
                (query.workflow_id is None or run.workflow_id == query.workflow_id)
                and (not query.statuses or run.status in query.statuses)
                and (query.triggered_by is None or run.triggered_by == query.triggered_by)
                and (query.created_after is None or run.created_at >= query.created_after)
                and (query.created_before is None or run.created_at < query.created_before)
            )

        return _page(filter(wanted, self.store.runs.values()), query.sort, query.limit, query.offset)

    async def claim(self, run_id: RunId, *, owner: str, now: datetime, expires_at: datetime) -> Run | None:
        run = self.store.runs.get(run_id)
        if run is None or run.status not in (RunStatus.PENDING, RunStatus.RUNNING):
            return None
        if run.lease is not None and not run.lease.is_free(now):
            return None
        token = (run.lease.token if run.lease else 0) + 1
        claimed = attrs.evolve(run, lease=Lease(owner=owner, expires_at=expires_at, token=token))
        self.journal.put(self.store.runs, run_id, claimed)
        return claimed

    async def renew(self, run_id: RunId, *, token: int, expires_at: datetime) -> bool:
        run = self.store.runs.get(run_id)
        if run is None or run.lease is None or run.lease.owner is None or run.lease.token != token:
            return False
        self.journal.put(
            self.store.runs, run_id, attrs.evolve(run, lease=attrs.evolve(run.lease, expires_at=expires_at))
        )
        return True

    async def release(self, run_id: RunId, *, token: int) -> None:
        run = self.store.runs.get(run_id)
        if run is not None and run.lease is not None and run.lease.token == token:
            self.journal.put(self.store.runs, run_id, attrs.evolve(run, lease=run.lease.released()))

    async def claimable(
        self, *, now: datetime, limit: int, pending_before: datetime | None = None
    ) -> builtins.list[RunId]:
        def fresh(run: Run) -> bool:
            never_claimed = run.lease is None or run.lease.token == 0
            return pending_before is not None and never_claimed and run.created_at > pending_before

        found = [
            run.id
            for run in sorted(self.store.runs.values(), key=lambda run: run.created_at)
            if (run.status is RunStatus.PENDING and not fresh(run))
            or (run.status is RunStatus.RUNNING and (run.lease is None or run.lease.is_free(now)))
        ]
        return found[:limit]


class MemoryAuditLog(_Repository):
    async def append(self, entry: AuditEntry) -> None:
        self.journal.append(self.store.audit, entry)

    async def list(self, query: AuditQuery) -> Page[AuditEntry]:
        checks: builtins.list[Callable[[AuditEntry], bool]] = [
            lambda e: query.entity_type is None or e.entity_type == query.entity_type,
            lambda e: query.entity_id is None or e.entity_id == query.entity_id,
            lambda e: query.user_id is None or e.user_id == query.user_id,
            lambda e: query.action is None or e.action == query.action,
            lambda e: query.since is None or e.timestamp >= query.since,
            lambda e: query.until is None or e.timestamp < query.until,
        ]
        rows = [entry for entry in reversed(self.store.audit) if all(check(entry) for check in checks)]
        return _page(rows, None, query.limit, query.offset)


class MemoryOutbox(_Repository):
    async def add(self, dispatch: Dispatch) -> None:
        self.journal.put(self.store.outbox, dispatch.id, (dispatch, None))

    async def pending(self, *, limit: int) -> builtins.list[Dispatch]:
        return [dispatch for dispatch, sent_at in self.store.outbox.values() if sent_at is None][:limit]

    async def mark_sent(self, dispatch_ids: Sequence[str]) -> None:
        # Wall-clock time, as the SQL outbox: `sent_at` is bookkeeping for pruning, not part of the domain.
        now = datetime.now(UTC)
        for dispatch_id in dispatch_ids:
            if dispatch_id in self.store.outbox:
                self.journal.put(self.store.outbox, dispatch_id, (self.store.outbox[dispatch_id][0], now))

    async def backlog(self) -> int:
        return sum(1 for _, sent_at in self.store.outbox.values() if sent_at is None)

    async def prune(self, *, sent_more_than: timedelta, limit: int) -> int:
        before = datetime.now(UTC) - sent_more_than
        sent = [key for key, (_, sent_at) in self.store.outbox.items() if sent_at is not None and sent_at < before]
        doomed = sent[:limit]
        for dispatch_id in doomed:
            self.journal.delete(self.store.outbox, dispatch_id)
        return len(doomed)
