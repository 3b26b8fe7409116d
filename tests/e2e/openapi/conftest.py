"""The app whose document the tests read: served on 127.0.0.1 over the in-memory adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters_http.server import HttpSettings, create_app
from adapters_memory.agents import CallableInvoker
from e2e.api.stack import build_api, memory_services

Client = TestClient[Any, Any]

API_KEYS = HttpSettings(api_keys={"ci": "ci-secret-key"})


@pytest.fixture
def http_settings() -> HttpSettings:
    return HttpSettings()


@pytest.fixture
async def docs_client(http_settings: HttpSettings) -> AsyncIterator[Client]:
    services = memory_services()
    app = create_app(build_api(services, CallableInvoker(services.clock)), http_settings)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def document(docs_client: Client) -> dict[str, Any]:
    response = await docs_client.get("/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.json()
    return body
