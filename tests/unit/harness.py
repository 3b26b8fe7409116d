"""The use cases wired to the in-memory adapters, with shortcuts for the tests of this folder."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs

from adapters_memory.agents import AgentFunction, CallableInvoker
from adapters_memory.direct_claims import TransactionalDirectClaims
from adapters_memory.direct_starts import TransactionalDirectStarts
from adapters_memory.dispatcher import InProcessDispatcher
from adapters_memory.fenced_writes import TransactionalFencedWrites
from adapters_memory.store import MemoryStore
from adapters_memory.system import UuidGenerator, VirtualClock
from adapters_memory.unit_of_work import MemoryUnitOfWork
from unit.definitions import definition
from wfcore.domain.agents import Agent
from wfcore.domain.events import EventType
from wfcore.domain.ids import RunId, WorkflowId
from wfcore.domain.runs import Run, StepExecution
from wfcore.domain.workflows import StepDefinition, WorkflowVersion
from wfcore.ports.agents import AgentCall
from wfcore.ports.persistence import DirectClaims, FencedWrites
from wfcore.ports.system import Clock
from wfcore.use_cases.agents import AgentRegistry, RegisterAgent
from wfcore.use_cases.audit import AuditQueries
from wfcore.use_cases.common import Actor, Services
from wfcore.use_cases.engine import EngineSettings, RunEngine
from wfcore.use_cases.execution import ExecuteWorkflow, ExecuteWorkflowHandler
from wfcore.use_cases.runs import RunCommands, RunQueries
from wfcore.use_cases.workflows import SaveWorkflow, WorkflowCatalog


def echo(call: AgentCall) -> Any:
    return call.input


@attrs.define
class Harness:
    store: MemoryStore
    clock: VirtualClock
    services: Services
    invoker: CallableInvoker
    dispatcher: InProcessDispatcher
    registry: AgentRegistry
    catalog: WorkflowCatalog
    execute: ExecuteWorkflowHandler
    commands: RunCommands
    queries: RunQueries
    audit: AuditQueries
    # None: as on SQLite, every engine write locks its run first and a claim is one transaction. Else as on
    # PostgreSQL: runs unchanged since their last write are not locked, and a claim is two statements (and
    # `execute` stores a run in one step once it knows the version).
    fenced_writes: FencedWrites | None = None
    direct_claims: DirectClaims | None = None

    @classmethod
    def build(cls, clock: VirtualClock | None = None, *, as_on_postgres: bool = False) -> Harness:
        store = MemoryStore()
        clock = clock or VirtualClock(autojump=True)
        services = Services(uow=lambda: MemoryUnitOfWork(store), clock=clock, ids=UuidGenerator())
        invoker = CallableInvoker(clock)
        dispatcher = InProcessDispatcher()
        return cls(
            store=store,
            clock=clock,
            services=services,
            invoker=invoker,
            dispatcher=dispatcher,
            registry=AgentRegistry(services, invoker),
            catalog=WorkflowCatalog(services),
            execute=ExecuteWorkflowHandler(
                services, dispatcher, direct_starts=TransactionalDirectStarts(services.uow) if as_on_postgres else None
            ),
            commands=RunCommands(services, dispatcher),
            queries=RunQueries(services),
            audit=AuditQueries(services),
            fenced_writes=TransactionalFencedWrites(services.uow) if as_on_postgres else None,
            direct_claims=TransactionalDirectClaims(services.uow) if as_on_postgres else None,
        )

    async def agent(self, name: str, function: AgentFunction = echo, **fields: Any) -> Agent:
        """Register an agent whose calls run `function` in process."""
        self.invoker.register(name, function)
        return await self.registry.register(RegisterAgent(name=name, url=f"http://{name}.agents.test/run", **fields))

    async def workflow(self, *steps: StepDefinition, name: str = "wf", **fields: Any) -> WorkflowVersion:
        saved = definition(*steps, name=name, **fields)
        return await self.catalog.create(SaveWorkflow(definition=saved, document={"name": name}))

    async def start(self, workflow_id: WorkflowId, run_input: Any = None, **fields: Any) -> Run:
        command = ExecuteWorkflow(workflow_id=workflow_id, input=run_input or {}, **fields)
        return (await self.execute(command)).run

    def engine(self, owner: str = "worker-1", *, clock: Clock | None = None, **settings: Any) -> RunEngine:
        """An engine whose full jitter always draws the ceiling, so backoffs are exact."""
        services = attrs.evolve(self.services, clock=clock) if clock else self.services
        return RunEngine(
            services,
            self.invoker,
            EngineSettings(owner=owner, **settings),
            random=lambda: 1.0,
            fenced_writes=self.fenced_writes,
            direct_claims=self.direct_claims,
        )

    async def run_to_end(self, workflow_id: WorkflowId, run_input: Any = None) -> Run:
        run = await self.start(workflow_id, run_input)
        finished = await self.engine().execute(run.id)
        assert finished is not None
        return finished

    async def steps(self, run_id: RunId) -> dict[str, StepExecution]:
        return {step.step_id: step for step in await self.queries.steps(run_id)}

    async def event_types(self, run_id: RunId) -> list[EventType]:
        return [event.type for event in await self.queries.events(run_id)]

    async def wait_for_event(self, run_id: RunId, event_type: EventType) -> None:
        """Let the other tasks run until the run's log holds `event_type`."""
        # The store has no notification to wait on.
        while event_type not in await self.event_types(run_id):  # noqa: ASYNC110
            await asyncio.sleep(0)

    def calls(self, step_id: str) -> list[AgentCall]:
        return [call for call in self.invoker.calls if call.step_id == step_id]


ADA = Actor(user_id="ada", request_id="req-1")
