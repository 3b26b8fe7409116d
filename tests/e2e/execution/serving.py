"""Where the execution tests' service runs, with settings of a test's choosing: built in the test process on
a database, as `wf serve` wires it (`Embedded`), or as the processes of a distributed stack, `wf serve` and
`wf worker`s on PostgreSQL and the broker (`Distributed`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import aiohttp
import attrs
from cryptography.fernet import Fernet

from distributed.stack import SharedStacks
from e2e.execution.service_api import Wf
from fixtures.service import start_service, stop_service
from wfapp.settings import Settings, env_name


class Deployment(Protocol):
    @property
    def workers(self) -> int:
        """How many workers take the runs of one `serving()`: each with `worker_concurrency` runs in flight."""
        ...

    def serving(self, demo_agent_url: str | None = None, **settings: Any) -> AbstractAsyncContextManager[Wf]:
        """A client of the service with these `Settings` fields; with `demo_agent_url`, the demo agents
        registered (see `Wf.demo_agents`)."""
        ...


@attrs.frozen
class Embedded:
    """A new service in the test process for each `serving()`, on `database_url`."""

    database_url: str

    @property
    def workers(self) -> int:
        return 1

    @contextlib.asynccontextmanager
    async def serving(self, demo_agent_url: str | None = None, **settings: Any) -> AsyncIterator[Wf]:
        configured = Settings(
            database_url=self.database_url,
            secret_key=(Fernet.generate_key().decode(),),
            lease_seconds=5.0,
            **settings,
        )
        client, container, workers = await start_service(configured)
        try:
            yield await _with_demo_agents(Wf(client), demo_agent_url)
        finally:
            await stop_service(client, container, workers)


@attrs.frozen
class Distributed:
    """The stack of `stacks` whose processes have the settings asked for (as `WF_*` variables), shared with
    the other tests that ask for the same: `Wf` names its agents and workflows apart from theirs."""

    stacks: SharedStacks

    @property
    def workers(self) -> int:
        return self.stacks.workers

    @contextlib.asynccontextmanager
    async def serving(self, demo_agent_url: str | None = None, **settings: Any) -> AsyncIterator[Wf]:
        api_url = await self.stacks.api_url(**{env_name(name): str(value) for name, value in settings.items()})
        async with aiohttp.ClientSession(base_url=api_url) as session:
            yield await _with_demo_agents(Wf(session), demo_agent_url)


async def _with_demo_agents(api: Wf, demo_agent_url: str | None) -> Wf:
    if demo_agent_url is not None:
        await api.demo_agents(demo_agent_url)
    return api
