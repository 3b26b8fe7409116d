"""`GET /api/v1/agents/{id}/health` against a live, a failing and an unreachable agent, recorded and audited."""

from __future__ import annotations

import socket

import pytest

from fixtures.agents import DemoAgent
from fixtures.service import RunningService


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("health_path", "status", "http_status"),
    [("/health", "healthy", 200), ("/health?status=500", "unhealthy", 500), (None, "unreachable", None)],
)
async def test_health_is_checked_live_recorded_and_audited(
    service: RunningService, demo_agent: DemoAgent, health_path: str | None, status: str, http_status: int | None
) -> None:
    client = service.client
    health_url = demo_agent.url(health_path) if health_path else f"http://127.0.0.1:{closed_port()}/health"
    body = {"name": "probed", "url": demo_agent.url("/echo"), "health_url": health_url}
    agent = await (await client.post("/api/v1/agents", json=body)).json()

    response = await client.get(f"/api/v1/agents/{agent['id']}/health")
    assert response.status == 200
    result = await response.json()
    assert (result["status"], result["http_status"]) == (status, http_status)
    assert set(result) == {"status", "http_status", "latency_ms", "checked_at", "detail"}

    stored = await (await client.get(f"/api/v1/agents/{agent['id']}")).json()
    assert stored["last_health"] == result
    audit = await (await client.get("/api/v1/audit-logs", params={"entity_id": agent["id"]})).json()
    assert [entry["action"] for entry in audit["items"]] == ["health_check", "create"]
