"""Executing a workflow with an Idempotency-Key: however many requests arrive at once, one run."""

from __future__ import annotations

import asyncio

from adapters_memory.dispatcher import InProcessDispatcher
from adapters_memory.system import SystemClock, UuidGenerator
from contract.builders import stored_workflow
from wfcore.domain.ids import RunId
from wfcore.ports.dispatch import DispatchKind
from wfcore.ports.persistence import AuditQuery, RunQuery
from wfcore.use_cases.common import Services, UnitOfWorkFactory
from wfcore.use_cases.execution import ExecuteWorkflow, ExecuteWorkflowHandler


async def test_fifty_concurrent_executes_with_one_key_make_one_run(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx)
        await tx.commit()
    dispatcher = InProcessDispatcher()
    execute = ExecuteWorkflowHandler(Services(uow=uow, clock=SystemClock(), ids=UuidGenerator()), dispatcher)
    command = ExecuteWorkflow(workflow_id=flow.id, input={"text": "once"}, idempotency_key="key-1")

    executions = await asyncio.gather(*(execute(command) for _ in range(50)))

    assert len({execution.run.id for execution in executions}) == 1
    assert sum(execution.created for execution in executions) == 1
    only = executions[0].run
    async with uow() as tx:
        assert (await tx.runs.list(RunQuery())).items == [only]
        assert [dispatch.kind for dispatch in await tx.outbox.pending(limit=100)] == [DispatchKind.START]
        assert (await tx.audit.list(AuditQuery(action="execute"))).total == 1
        assert len(await tx.runs.events(RunId(only.id))) == 1
    assert await dispatcher.next_run() == only.id
