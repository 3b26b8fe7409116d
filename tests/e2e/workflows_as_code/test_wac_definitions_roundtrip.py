"""Random definitions through the API on SQLite and PostgreSQL.

A valid one comes back exactly as sent, plus the server fields; a broken one is always a 422 naming
the broken place, never a 500, and stores nothing.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from e2e.workflows_as_code.definitions import AGENTS, Broken, broken_documents, valid_documents
from fixtures.service import RunningService

WORKFLOWS = "/api/v1/workflows"
SERVER_FIELDS = {"id", "version", "created_at", "created_by", "updated_at"}
EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_numbers = itertools.count()


@pytest.fixture
async def agents(service: RunningService) -> RunningService:
    """The service with the agents the generated definitions call."""
    for name in AGENTS:
        response = await service.client.post("/api/v1/agents", json={"name": name, "url": f"http://127.0.0.1:9/{name}"})
        assert response.status == 201, await response.text()
    return service


async def total_workflows(service: RunningService) -> int:
    total: int = (await (await service.client.get(WORKFLOWS)).json())["total"]
    return total


@EXAMPLES
@given(document=valid_documents())
async def test_a_valid_definition_comes_back_exactly_as_sent(agents: RunningService, document: dict[str, Any]) -> None:
    # Names are unique among workflows, and examples share one database.
    document = {**document, "name": f"{document['name']}-{next(_numbers)}"}
    response = await agents.client.post(WORKFLOWS, json=document)
    assert response.status == 201, await response.text()
    created = await response.json()

    assert {key: value for key, value in created.items() if key not in SERVER_FIELDS | {"status"}} == {
        key: value for key, value in document.items() if key != "status"
    }
    assert created["status"] == document.get("status", "active")
    assert created["version"] == 1
    fetched = await agents.client.get(f"{WORKFLOWS}/{created['id']}")
    assert await fetched.json() == created


@EXAMPLES
@given(broken=broken_documents())
async def test_a_broken_definition_is_a_422_naming_the_place_and_stores_nothing(
    agents: RunningService, broken: Broken
) -> None:
    before = await total_workflows(agents)
    response = await agents.client.post(WORKFLOWS, json=broken.document)
    body = await response.json()
    assert response.status == 422, body
    assert body["errors"], body
    assert all(isinstance(error["loc"], list) and error["msg"] for error in body["errors"]), body
    assert broken.is_reported_in(body["errors"]), (broken.loc, broken.type, body["errors"])
    assert await total_workflows(agents) == before
