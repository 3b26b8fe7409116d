"""The library facade: the whole service inside a Python program, without HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import attrs
from dependency_injector import providers

from adapters_http.server.converter import structure
from adapters_http.server.schemas.agents import AgentCreate
from adapters_http.server.schemas.workflows import WorkflowBody
from wfapp.container import Container
from wfapp.lifecycle import close_connections
from wfapp.migration import upgrade_to_head
from wfapp.runtime import EmbeddedWorkers
from wfapp.settings import Settings
from wfcore.domain.agents import Agent
from wfcore.domain.ids import RunId, WorkflowId
from wfcore.domain.runs import Run, StepExecution
from wfcore.domain.workflows import WorkflowVersion
from wfcore.use_cases.agents import AgentRegistry
from wfcore.use_cases.audit import AuditQueries
from wfcore.use_cases.common import Actor
from wfcore.use_cases.execution import ExecuteWorkflow
from wfcore.use_cases.runs import CancelRun, RetryRun, RunCommands, RunQueries
from wfcore.use_cases.workflows import SaveWorkflow, WorkflowCatalog


class WorkflowService:
    """wf in-process: the use cases on a database, with workers in this process.

    Open it with `await WorkflowService.open(url)` (or `async with await WorkflowService.open(url)`),
    which migrates the database and starts the workers; `close()` stops them gracefully.
    The use cases are reachable as attributes (`agents`, `workflows`, `runs`, `run_commands`, `audit`);
    the methods below are shortcuts taking the same JSON documents as the REST API.
    """

    def __init__(self, container: Container, workers: EmbeddedWorkers | None, actor: Actor) -> None:
        self._container = container
        self._workers = workers
        self.actor = actor
        self.agents: AgentRegistry = container.agents()
        self.workflows: WorkflowCatalog = container.workflows()
        self.runs: RunQueries = container.runs()
        self.run_commands: RunCommands = container.run_commands()
        self.audit: AuditQueries = container.audit()

    @classmethod
    async def open(
        cls,
        database_url: str = "sqlite+aiosqlite:///./wf.db",
        *,
        settings: Settings | None = None,
        workers: bool = True,
        migrate: bool = True,
        user_id: str = "library",
    ) -> WorkflowService:
        """Open the service on `database_url` (a `sqlite+aiosqlite://` or `postgresql+asyncpg://` URL)."""
        settings = attrs.evolve(settings or Settings(), database_url=database_url)
        if migrate:
            await upgrade_to_head(settings.database_url)
        container = Container(settings=providers.Object(settings))
        runtime = None
        if workers:
            runtime = EmbeddedWorkers(
                dispatcher=container.dispatcher(),
                engine=container.engine(),
                worker=container.worker(),
                uow=container.uow(),
            )
            await runtime.start()
        return cls(container, runtime, Actor(user_id=user_id))

    async def close(self, grace_seconds: float = 10.0) -> None:
        if self._workers is not None:
            await self._workers.stop(grace_seconds)
        await close_connections(self._container)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    async def register_agent(self, **fields: Any) -> Agent:
        """Register an agent from the fields of `POST /api/v1/agents` (name, url, auth_type, ...)."""
        return await self.agents.register(structure(fields, AgentCreate).to_command(self.actor))

    async def create_workflow(self, document: Mapping[str, Any]) -> WorkflowVersion:
        """Create a workflow (version 1) from the document of `POST /api/v1/workflows`."""
        definition = structure(dict(document), WorkflowBody).to_definition()
        return await self.workflows.create(SaveWorkflow(definition=definition, document=document, actor=self.actor))

    async def update_workflow(self, workflow_id: str, document: Mapping[str, Any]) -> WorkflowVersion:
        """Store `document` as the workflow's next version."""
        definition = structure(dict(document), WorkflowBody).to_definition()
        return await self.workflows.update(
            WorkflowId(workflow_id), SaveWorkflow(definition=definition, document=document, actor=self.actor)
        )

    async def execute(
        self,
        workflow_id: str,
        input: Any = None,
        *,
        version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Run:
        """Start a run; with an `idempotency_key` a repeated call returns the first run."""
        execution = await self._container.execute()(
            ExecuteWorkflow(
                workflow_id=WorkflowId(workflow_id),
                input={} if input is None else input,
                version=version,
                idempotency_key=idempotency_key,
                actor=self.actor,
            )
        )
        return execution.run

    async def get_run(self, run_id: str) -> Run:
        return await self.runs.get(RunId(run_id))

    async def run_steps(self, run_id: str) -> list[StepExecution]:
        return await self.runs.steps(RunId(run_id))

    async def wait_for_run(self, run_id: str, *, timeout_seconds: float = 60.0, poll_interval: float = 0.02) -> Run:
        """The run once it is finished; `TimeoutError` if it is not within `timeout_seconds`."""
        async with asyncio.timeout(timeout_seconds):
            while True:
                run = await self.get_run(run_id)
                if run.status.is_finished:
                    return run
                await asyncio.sleep(poll_interval)

    async def cancel(self, run_id: str) -> Run:
        return await self.run_commands.cancel(CancelRun(run_id=RunId(run_id), actor=self.actor))

    async def retry(self, run_id: str, *, from_step: str | None = None) -> Run:
        return await self.run_commands.retry(RetryRun(run_id=RunId(run_id), from_step=from_step, actor=self.actor))
