"""Requests the API tests make again and again, and the checks every problem response must pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

Client = TestClient[Any, Any]


async def register_agent(client: Client, name: str = "writer", **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/agents", json={"name": name, "url": "http://127.0.0.1:9/call", **fields})
    assert response.status == 201, await response.text()
    return dict(await response.json())


def step(step_id: str, agent: str = "writer", **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "agent": agent, **fields}


async def save_workflow(
    client: Client, name: str = "pipeline", *steps: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    document = {"name": name, "steps": list(steps) or [step("only")], **fields}
    response = await client.post("/api/v1/workflows", json=document)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def execute(
    client: Client, workflow_id: str, body: Any = None, headers: dict[str, str] | None = None
) -> ClientResponse:
    return await client.post(f"/api/v1/workflows/{workflow_id}/execute", json=body, headers=headers)


async def problem(response: ClientResponse, status: int) -> dict[str, Any]:
    """The problem document of `response`, checked against RFC 9457 and the contract."""
    body = await response.json(content_type=None)
    assert response.status == status, body
    assert response.content_type == "application/problem+json"
    assert body["status"] == status
    assert body["type"].startswith("urn:wf:problem:")
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.url.path
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert ("errors" in body) == (status == 422)
    return dict(body)


async def locs(response: ClientResponse) -> list[list[str | int]]:
    """The `loc` of every error of a 422 problem."""
    return [error["loc"] for error in (await problem(response, 422))["errors"]]


async def error_at(response: ClientResponse, loc: Sequence[str | int]) -> dict[str, Any]:
    """The error of a 422 problem at exactly `loc`."""
    errors = (await problem(response, 422))["errors"]
    found = [error for error in errors if error["loc"] == list(loc)]
    assert found, f"no error at {loc}: {errors}"
    return dict(found[0])
