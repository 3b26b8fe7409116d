"""Agents on link-local and metadata addresses are refused on every call, failing the step, never the server."""

from __future__ import annotations

import pytest

from e2e.test_walkthrough import wait_until_finished
from fixtures.service import RunningService


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data", "http://[fe80::1]/agent", "http://[::ffff:169.254.169.254]/agent"],
)
async def test_a_step_calling_a_denied_address_fails_with_destination_refused(
    service: RunningService, url: str
) -> None:
    client = service.client
    agent = await (await client.post("/api/v1/agents", json={"name": "metadata", "url": url})).json()
    health = await client.get(f"/api/v1/agents/{agent['id']}/health")
    assert health.status == 200
    assert (await health.json())["status"] == "unreachable"

    workflow = await (
        await client.post(
            "/api/v1/workflows", json={"name": "probe", "steps": [{"id": "probe", "agent": "metadata", "input": {}}]}
        )
    ).json()
    run = await (await client.post(f"/api/v1/workflows/{workflow['id']}/execute", json={})).json()
    finished = await wait_until_finished(service, run["id"])
    assert finished["status"] == "failed"
    assert finished["error"]["code"] == "destination_refused"
    assert finished["error"]["step_id"] == "probe"
