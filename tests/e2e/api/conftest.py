"""The API under test: one aiohttp server on 127.0.0.1 over the in-memory adapters.

`stack` is the one fixture that builds the application; swap it to run the same tests on another
backend (it must yield an `ApiStack` whose `services` share that backend).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters_http.server import HttpSettings, ReadinessCheck, create_app
from adapters_memory.agents import CallableInvoker
from e2e.api.stack import ApiStack, build_api, memory_services


@pytest.fixture
def http_settings() -> HttpSettings:
    return HttpSettings(event_poll_seconds=0.02)


@pytest.fixture
def readiness_checks() -> list[ReadinessCheck]:
    return []


@pytest.fixture
async def stack(http_settings: HttpSettings, readiness_checks: list[ReadinessCheck]) -> AsyncIterator[ApiStack]:
    services = memory_services()
    invoker = CallableInvoker(services.clock)
    app = create_app(build_api(services, invoker), http_settings, readiness_checks)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield ApiStack(client=client, services=services, invoker=invoker)


@pytest.fixture
def api_client(stack: ApiStack) -> TestClient[Any, Any]:
    return stack.client
