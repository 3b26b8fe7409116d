"""The API under test: one aiohttp server on 127.0.0.1, over the in-memory adapters, SQLite and PostgreSQL.

`stack` is the one fixture that builds the application; every test runs once per backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters_db.engine import create_database
from adapters_db.secrets import FernetSecretBox
from adapters_db.unit_of_work import SqlUnitOfWorkFactory
from adapters_http.server import HttpSettings, ReadinessCheck, create_app
from adapters_memory.agents import CallableInvoker
from adapters_memory.system import SystemClock, UuidGenerator
from e2e.api.stack import ApiStack, build_api, memory_services
from wfcore.use_cases.common import Services


@pytest.fixture
def http_settings() -> HttpSettings:
    return HttpSettings(event_poll_seconds=0.02)


@pytest.fixture
def readiness_checks() -> list[ReadinessCheck]:
    return []


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest) -> str | None:
    """None for the in-memory adapters, else the URL of a migrated database."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue(f"migrated_{request.param}_url")
    return url


@pytest.fixture
async def services(backend_url: str | None) -> AsyncIterator[Services]:
    if backend_url is None:
        yield memory_services()
        return
    url = backend_url
    database = create_database(url)
    try:
        yield Services(
            uow=SqlUnitOfWorkFactory(database, FernetSecretBox([FernetSecretBox.new_key()])),
            clock=SystemClock(),
            ids=UuidGenerator(),
        )
    finally:
        await database.dispose()


@pytest.fixture
async def stack(
    services: Services, http_settings: HttpSettings, readiness_checks: list[ReadinessCheck]
) -> AsyncIterator[ApiStack]:
    invoker = CallableInvoker(services.clock)
    app = create_app(build_api(services, invoker), http_settings, readiness_checks)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield ApiStack(client=client, services=services, invoker=invoker)


@pytest.fixture
def api_client(stack: ApiStack) -> TestClient[Any, Any]:
    return stack.client
