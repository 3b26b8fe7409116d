"""The composition root: one container that wires the ports to adapters chosen from settings."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from dependency_injector import containers, providers

from adapters_db.direct_claims import direct_claims_for
from adapters_db.direct_starts import direct_starts_for
from adapters_db.engine import create_database
from adapters_db.fenced_writes import fenced_writes_for
from adapters_db.unit_of_work import SqlUnitOfWorkFactory
from adapters_http.client import AgentClientSettings, HttpAgentInvoker
from adapters_memory.dispatcher import InProcessDispatcher
from adapters_memory.system import SystemClock, UuidGenerator
from adapters_prometheus import Metrics
from wfapp.secrets import secret_box_for
from wfapp.settings import Settings
from wfapp.version import __version__
from wfcore.use_cases.agents import AgentRegistry
from wfcore.use_cases.audit import AuditQueries
from wfcore.use_cases.common import Services, UnitOfWorkFactory
from wfcore.use_cases.engine import EngineSettings, RunEngine
from wfcore.use_cases.execution import ExecuteWorkflowHandler
from wfcore.use_cases.runs import RunCommands, RunQueries
from wfcore.use_cases.worker import Worker
from wfcore.use_cases.workflows import WorkflowCatalog


def worker_name() -> str:
    """Unique per process: the lease owner written on the runs this process holds."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def agent_client_settings(settings: Settings) -> AgentClientSettings:
    return AgentClientSettings.create(
        allowed_networks=settings.agent_allowed_networks,
        denied_networks=settings.agent_denied_networks or None,
        max_response_bytes=settings.max_response_bytes,
        user_agent=f"wf/{__version__}",
    )


def outbox_backlog(uow: UnitOfWorkFactory) -> Callable[[], Awaitable[int]]:
    """How many dispatches wait in the outbox, read when the metrics are exported."""

    async def backlog() -> int:
        async with uow() as unit:
            return await unit.outbox.backlog()

    return backlog


class Container(containers.DeclarativeContainer):
    """Everything one `wf` process runs with. Nothing connects until a provider is first called."""

    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidGenerator)

    database = providers.Singleton(
        create_database, settings.provided.database_url, postgres_pool_size=settings.provided.database_pool_size
    )
    secret_box = providers.Singleton(secret_box_for, settings)
    uow = providers.Singleton(SqlUnitOfWorkFactory, database, secret_box)
    services = providers.Singleton(Services, uow=uow, clock=clock, ids=ids)

    dispatcher = providers.Singleton(InProcessDispatcher)
    invoker = providers.Singleton(
        HttpAgentInvoker, settings=providers.Callable(agent_client_settings, settings), clock=clock
    )

    metrics = providers.Singleton(Metrics, backlog=providers.Callable(outbox_backlog, uow))

    agents = providers.Singleton(AgentRegistry, services=services, invoker=invoker)
    workflows = providers.Singleton(WorkflowCatalog, services=services)
    execute = providers.Singleton(
        ExecuteWorkflowHandler,
        services=services,
        dispatcher=dispatcher,
        direct_starts=providers.Callable(direct_starts_for, database),
    )
    runs = providers.Singleton(RunQueries, services=services)
    run_commands = providers.Singleton(RunCommands, services=services, dispatcher=dispatcher, telemetry=metrics)
    audit = providers.Singleton(AuditQueries, services=services)

    engine = providers.Singleton(
        RunEngine,
        services=services,
        invoker=invoker,
        telemetry=metrics,
        settings=providers.Callable(
            lambda settings: EngineSettings(owner=worker_name(), lease_seconds=settings.lease_seconds), settings
        ),
        fenced_writes=providers.Callable(fenced_writes_for, database),
        direct_claims=providers.Callable(direct_claims_for, database, secret_box),
    )
    worker = providers.Singleton(Worker, engine=engine, concurrency=settings.provided.worker_concurrency)
