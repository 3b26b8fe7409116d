"""Failures behind the API: a dependency that is down is a 503, a bug is a 500 that leaks nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters_http.server import HttpSettings, create_app
from adapters_memory.agents import CallableInvoker
from adapters_memory.store import MemoryStore
from adapters_memory.system import SystemClock, UuidGenerator
from adapters_memory.unit_of_work import MemoryUnitOfWork
from e2e.api.calls import Client, problem
from e2e.api.stack import build_api
from wfcore.domain.errors import ServiceUnavailable, TransientConflict
from wfcore.ports.persistence import UnitOfWork
from wfcore.use_cases.common import Services


class DriverError(Exception):
    """What a database driver raises when its server is gone (the composition root registers such classes)."""


class BrokenDatabase:
    """A unit of work whose database fails as soon as it is used."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def __aenter__(self) -> BrokenDatabase:
        raise self.error

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        return None


ClientFactory = Callable[[BaseException, HttpSettings], Awaitable[Client]]
ApiOnDatabase = Callable[..., Awaitable[Client]]  # (units of work factory, settings=None)


@pytest.fixture
async def api_on() -> AsyncIterator[ApiOnDatabase]:
    """Start an API whose units of work come from the given factory (default settings); they stop with the test."""
    clients: list[Client] = []

    async def start(uow: Callable[[], UnitOfWork], settings: HttpSettings | None = None) -> Client:
        clock = SystemClock()
        services = Services(uow=uow, clock=clock, ids=UuidGenerator())
        app = create_app(build_api(services, CallableInvoker(clock)), settings or HttpSettings())
        client: Client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
def broken_api(api_on: ApiOnDatabase) -> ClientFactory:
    """Start an API whose database raises the given error."""

    async def start(error: BaseException, settings: HttpSettings) -> Client:
        return await api_on(lambda: BrokenDatabase(error), settings)

    return start


@pytest.mark.parametrize(
    ("error", "settings"),
    [
        (ConnectionRefusedError(111, "Connection refused"), HttpSettings()),
        (OSError(113, "No route to host"), HttpSettings()),
        (DriverError("could not connect to server at 10.0.0.5"), HttpSettings(dependency_errors=(DriverError,))),
    ],
)
async def test_a_database_that_is_down_is_a_503_with_retry_after(
    broken_api: ClientFactory, error: BaseException, settings: HttpSettings
) -> None:
    client = await broken_api(error, settings)
    for response in (
        await client.get("/api/v1/agents"),
        await client.post("/api/v1/agents", json={"name": "a", "url": "http://127.0.0.1:9/"}),
    ):
        body = await problem(response, 503)
        assert response.headers["Retry-After"] == "5"
        assert "10.0.0.5" not in body["detail"]
        assert "refused" not in body["detail"]


async def test_the_domain_saying_unavailable_is_a_503_with_its_reason(broken_api: ClientFactory) -> None:
    client = await broken_api(ServiceUnavailable("the database is restarting"), HttpSettings(retry_after_seconds=30))
    response = await client.get("/api/v1/runs")
    assert "the database is restarting" in (await problem(response, 503))["detail"]
    assert response.headers["Retry-After"] == "30"


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("SELECT password FROM agent_secrets WHERE id = 7"),
        DriverError("INSERT INTO runs VALUES (...) failed"),
        RecursionError("maximum recursion depth exceeded"),
    ],
)
async def test_a_bug_is_a_500_with_only_the_request_id(
    broken_api: ClientFactory, caplog: pytest.LogCaptureFixture, error: BaseException
) -> None:
    client = await broken_api(error, HttpSettings())
    response = await client.get("/api/v1/agents", headers={"X-Request-ID": "bug-1"})
    body = await problem(response, 500)
    assert body["request_id"] == "bug-1"
    text = await response.text()
    for leak in ("SELECT", "INSERT", "Traceback", "recursion", "File "):
        assert leak not in text
    failures = [record for record in caplog.records if record.name == "adapters_http.server"]
    assert failures
    assert failures[-1].exc_info is not None
    assert failures[-1].exc_info[1] is error


async def test_a_run_command_on_a_broken_database_is_a_503(broken_api: ClientFactory) -> None:
    client = await broken_api(ConnectionResetError(104, "Connection reset by peer"), HttpSettings())
    await problem(await client.post("/api/v1/runs/0190d3a8-0000-7000-8000-000000000000/cancel"), 503)
    await problem(await client.get("/api/v1/runs/0190d3a8-0000-7000-8000-000000000000/events"), 503)
    assert (await client.get("/health")).status == 200


async def test_a_command_whose_transaction_collided_with_another_runs_again(api_on: ApiOnDatabase) -> None:
    store, collisions = MemoryStore(), [TransientConflict("deadlock detected")] * 2

    def database() -> UnitOfWork:
        return BrokenDatabase(collisions.pop()) if collisions else MemoryUnitOfWork(store)  # type: ignore[return-value]

    client = await api_on(database)
    response = await client.post("/api/v1/agents", json={"name": "echo", "url": "http://127.0.0.1:9/echo"})

    assert response.status == 201, await response.text()
    assert [agent.name for agent in store.agents.values()] == ["echo"]


async def test_a_command_that_keeps_colliding_is_a_409_that_says_to_retry(broken_api: ClientFactory) -> None:
    client = await broken_api(TransientConflict("deadlock detected"), HttpSettings())
    response = await client.post("/api/v1/agents", json={"name": "echo", "url": "http://127.0.0.1:9/echo"})
    assert "deadlock detected" in (await problem(response, 409))["detail"]
