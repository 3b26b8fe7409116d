"""Entities for the contract suite, valid by default, with the fields a test cares about overridden."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from wfcore.domain.agents import Agent, AgentStatus, AuthConfig, NoAuth, RetryPolicy
from wfcore.domain.audit import AuditEntry, EntityType
from wfcore.domain.ids import AgentId, RunId, WorkflowId
from wfcore.domain.runs import Run, RunStatus, StepExecution
from wfcore.domain.workflows import StepDefinition, Workflow, WorkflowDefinition, WorkflowStatus, WorkflowVersion
from wfcore.ports.dispatch import Dispatch, DispatchKind
from wfcore.ports.persistence import UnitOfWork
from wfcore.use_cases.common import UnitOfWorkFactory

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """`seconds` after the suite's epoch, so tests state times as small numbers."""
    return T0 + timedelta(seconds=seconds)


def new_id() -> str:
    return str(uuid.uuid4())


def agent(name: str = "echo", *, auth: AuthConfig | None = None, created: float = 0, **changes: Any) -> Agent:
    built = Agent(
        id=AgentId(new_id()),
        name=name,
        url=f"http://127.0.0.1:9/{name}",
        health_url="http://127.0.0.1:9/health",
        description=None,
        auth=auth or NoAuth(),
        timeout_ms=30_000,
        retry=RetryPolicy(),
        status=AgentStatus.ACTIVE,
        last_health=None,
        created_at=at(created),
        updated_at=at(created),
    )
    return attrs.evolve(built, **changes)


def definition(name: str, step_ids: tuple[str, ...] = ("first", "second")) -> WorkflowDefinition:
    steps = tuple(
        StepDefinition(id=step_id, agent="echo", input={"text": "{{ input.text }}"}, depends_on=tuple(step_ids[:index]))
        for index, step_id in enumerate(step_ids)
    )
    return WorkflowDefinition(name=name, steps=steps, description=f"the {name} workflow")


def document(name: str, step_ids: tuple[str, ...] = ("first", "second")) -> dict[str, Any]:
    """The document `definition(name, step_ids)` was read from, keys in the order a user wrote them."""
    return {
        "name": name,
        "steps": [{"id": step_id, "agent": "echo", "input": {"text": "{{ input.text }}"}} for step_id in step_ids],
        "description": f"the {name} workflow",
    }


def workflow(name: str = "triage", *, created: float = 0, **changes: Any) -> tuple[Workflow, WorkflowVersion]:
    """A workflow at version 1, and that version."""
    built = Workflow(
        id=WorkflowId(new_id()),
        name=name,
        status=WorkflowStatus.ACTIVE,
        latest_version=1,
        created_at=at(created),
        updated_at=at(created),
        created_by="alice",
    )
    built = attrs.evolve(built, **changes)
    return built, version_of(built, 1)


def version_of(workflow: Workflow, number: int, step_ids: tuple[str, ...] = ("first", "second")) -> WorkflowVersion:
    return WorkflowVersion(
        workflow_id=workflow.id,
        version=number,
        definition=definition(workflow.name, step_ids),
        document=document(workflow.name, step_ids),
        created_at=workflow.updated_at,
        created_by=workflow.created_by,
    )


def run(
    workflow: Workflow, *, created: float = 0, status: RunStatus = RunStatus.PENDING, **changes: Any
) -> tuple[Run, list[StepExecution]]:
    """A run of `workflow` version 1 and its steps as `execute` creates them."""
    built = Run(
        id=RunId(new_id()),
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        workflow_version=1,
        status=status,
        input={"text": "hello"},
        triggered_by="alice",
        created_at=at(created),
    )
    built = attrs.evolve(built, **changes)
    return built, [StepExecution(run_id=built.id, step_id=step_id) for step_id in ("first", "second")]


def audit_entry(
    entity_id: str = "e-1", *, seconds: float = 0, entity_type: EntityType = EntityType.AGENT, **changes: Any
) -> AuditEntry:
    built = AuditEntry(
        id=new_id(),
        entity_type=entity_type,
        entity_id=entity_id,
        action="update",
        user_id="alice",
        request_id="req-1",
        changes={"status": ("active", "inactive")},
        timestamp=at(seconds),
    )
    return attrs.evolve(built, **changes)


def dispatch(run_id: RunId, *, kind: DispatchKind = DispatchKind.START, seconds: float = 0) -> Dispatch:
    return Dispatch(id=new_id(), kind=kind, run_id=run_id, created_at=at(seconds), request_id="req-1")


async def stored_workflow(uow: UnitOfWork, name: str = "triage") -> Workflow:
    """Add a workflow at version 1 in `uow` (runs need one to belong to)."""
    flow, version = workflow(name)
    await uow.workflows.add(flow, version)
    return flow


async def committed_run(uow: UnitOfWorkFactory, status: RunStatus = RunStatus.PENDING) -> Run:
    """A run of a new workflow, with its steps, committed."""
    return (await committed_runs(uow, 1, status=status))[0]


async def committed_runs(uow: UnitOfWorkFactory, count: int, status: RunStatus = RunStatus.PENDING) -> list[Run]:
    """`count` runs of a new workflow, with their steps, committed."""
    async with uow() as tx:
        flow = await stored_workflow(tx)
        made = [run(flow, status=status) for _ in range(count)]
        for stored, steps in made:
            await tx.runs.add(stored, steps)
        await tx.commit()
    return [stored for stored, _ in made]
