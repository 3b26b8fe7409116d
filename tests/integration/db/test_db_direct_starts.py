"""Executing on PostgreSQL once the version is known: runs stored in one statement, the same answers as before."""

from __future__ import annotations

import asyncio

import attrs
import pytest

from adapters_db.direct_starts import PostgresDirectStarts
from adapters_memory.dispatcher import InProcessDispatcher
from adapters_memory.system import SystemClock, UuidGenerator
from contract.backends import SqlBackend
from contract.builders import agent
from wfcore.domain.errors import Conflict, InvalidInput, NotFound
from wfcore.domain.workflows import StepDefinition, WorkflowDefinition, WorkflowStatus
from wfcore.ports.persistence import NewRun, RunQuery
from wfcore.use_cases.common import Actor, Services
from wfcore.use_cases.execution import ExecuteWorkflow, ExecuteWorkflowHandler
from wfcore.use_cases.workflows import SaveWorkflow, WorkflowCatalog

pytestmark = pytest.mark.postgres

DEFINITION = WorkflowDefinition(
    name="ordered",
    steps=(StepDefinition(id="second", agent="echo"), StepDefinition(id="first", agent="echo")),
    input_schema={"type": "object", "properties": {"n": {"type": "integer"}}},
)


@attrs.define
class CountedStarts:
    """PostgreSQL's direct starts, counting the runs they stored."""

    through: PostgresDirectStarts
    stored: int = 0

    async def start(self, new: NewRun, *, latest_version: int | None) -> bool:
        stored = await self.through.start(new, latest_version=latest_version)
        self.stored += stored
        return stored


@attrs.frozen
class Service:
    services: Services
    catalog: WorkflowCatalog
    execute: ExecuteWorkflowHandler
    starts: CountedStarts
    workflow_id: str


@pytest.fixture
async def service(postgres_backend: SqlBackend) -> Service:
    """A workflow on PostgreSQL that has been executed once, so that its version is known."""
    services = Services(uow=postgres_backend.uow, clock=SystemClock(), ids=UuidGenerator())
    async with services.uow() as tx:
        await tx.agents.add(agent("echo"))
        await tx.commit()
    catalog = WorkflowCatalog(services)
    saved = await catalog.create(SaveWorkflow(DEFINITION, {}))
    starts = CountedStarts(PostgresDirectStarts(postgres_backend.database))
    execute = ExecuteWorkflowHandler(services, InProcessDispatcher(), direct_starts=starts)
    await execute(ExecuteWorkflow(saved.workflow_id, {"n": 0}))
    return Service(services, catalog, execute, starts, saved.workflow_id)


async def test_a_known_version_stores_the_run_directly_with_its_steps_in_order(service: Service) -> None:
    execution = await service.execute(ExecuteWorkflow(service.workflow_id, {"n": 1}))

    assert service.starts.stored == 1
    async with service.services.uow() as tx:
        assert await tx.runs.get(execution.run.id) == execution.run
        assert [step.step_id for step in await tx.runs.steps(execution.run.id)] == ["second", "first"]


async def test_concurrent_executes_with_one_key_make_one_run_and_another_body_is_refused(service: Service) -> None:
    same = ExecuteWorkflow(service.workflow_id, {"n": 1}, idempotency_key="key-1")
    executions = await asyncio.gather(*(service.execute(same) for _ in range(20)))
    other_bodies = await asyncio.gather(
        *(
            service.execute(ExecuteWorkflow(service.workflow_id, {"n": n}, idempotency_key="key-1"))
            for n in range(2, 6)
        ),
        return_exceptions=True,
    )

    assert sum(execution.created for execution in executions) == 1
    assert len({execution.run.id for execution in executions}) == 1
    assert all(isinstance(answer, InvalidInput) for answer in other_bodies), other_bodies
    async with service.services.uow() as tx:
        assert (await tx.runs.list(RunQuery(limit=100))).total == 2


async def test_a_workflow_deactivated_then_deleted_after_its_version_was_known_is_refused(service: Service) -> None:
    pinned = ExecuteWorkflow(service.workflow_id, {"n": 1}, version=1)
    await service.execute(pinned)
    inactive = attrs.evolve(DEFINITION, status=WorkflowStatus.INACTIVE)
    await service.catalog.update(service.workflow_id, SaveWorkflow(inactive, {}))

    for command in (pinned, ExecuteWorkflow(service.workflow_id, {"n": 1})):
        with pytest.raises(Conflict, match="inactive"):
            await service.execute(command)
    await service.catalog.delete(service.workflow_id, Actor())
    with pytest.raises(NotFound):
        await service.execute(pinned)


@pytest.mark.parametrize(
    "command_changes",
    [{"input": {"n": 1, "text": "nul \x00"}}, {"idempotency_key": "nul \x00"}, {"actor": Actor(user_id="nul \x00")}],
    ids=["input", "idempotency key", "user"],
)
async def test_a_value_postgresql_cannot_store_is_refused_and_nothing_is_stored(
    service: Service, command_changes: dict[str, object]
) -> None:
    command = attrs.evolve(ExecuteWorkflow(service.workflow_id, {"n": 1}), **command_changes)

    with pytest.raises(InvalidInput):
        await service.execute(command)

    async with service.services.uow() as tx:
        assert (await tx.runs.list(RunQuery(limit=100))).total == 1
