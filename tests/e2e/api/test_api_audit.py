"""`GET /api/v1/audit-logs`: every change is recorded with its user and request id, newest first."""

from __future__ import annotations

import pytest

from e2e.api.calls import Client, error_at, execute, register_agent, save_workflow

AUDIT = "/api/v1/audit-logs"


async def test_changes_are_recorded_newest_first_with_user_and_request(api_client: Client) -> None:
    headers = {"X-User-ID": "ada", "X-Request-ID": "req-create"}
    agent = await register_agent(api_client, "writer", auth_type="bearer", auth_config={"token": "first-secret"})
    update = {"auth_config": {"token": "second-secret"}, "timeout_ms": 900}
    await api_client.put(f"/api/v1/agents/{agent['id']}", json=update, headers=headers)
    workflow = await save_workflow(api_client, "audited")
    run = await (await execute(api_client, workflow["id"], {"input": {}}, headers={"X-User-ID": "bob"})).json()
    await api_client.post(f"/api/v1/runs/{run['id']}/cancel", headers={"X-User-ID": "bob"})
    await api_client.delete(f"/api/v1/agents/{agent['id']}", headers={"X-User-ID": "ada"})

    response = await api_client.get(AUDIT)
    text = await response.text()
    assert "first-secret" not in text
    assert "second-secret" not in text
    page = await response.json()
    assert [(e["entity_type"], e["action"], e["user_id"]) for e in page["items"]] == [
        ("agent", "delete", "ada"),
        ("run", "cancel", "bob"),
        ("run", "execute", "bob"),
        ("workflow", "create", "anonymous"),
        ("agent", "update", "ada"),
        ("agent", "create", "anonymous"),
    ]
    update_entry = page["items"][4]
    assert update_entry["request_id"] == "req-create"
    assert update_entry["entity_id"] == agent["id"]
    assert update_entry["changes"] == {"auth_config": ["***", "***"], "timeout_ms": [30000, 900]}
    assert update_entry["timestamp"].endswith("Z")
    assert page["items"][1]["changes"] == {"status": ["pending", "cancelled"]}


async def test_filters_narrow_the_log(api_client: Client) -> None:
    first = await register_agent(api_client, "first")
    second = await register_agent(api_client, "second")
    await api_client.put(f"/api/v1/agents/{second['id']}", json={"description": "x"}, headers={"X-User-ID": "ada"})

    async def actions(query: str) -> list[tuple[str, str]]:
        items = (await (await api_client.get(f"{AUDIT}?{query}")).json())["items"]
        return [(item["entity_id"], item["action"]) for item in items]

    assert await actions(f"entity_id={second['id']}") == [(second["id"], "update"), (second["id"], "create")]
    assert await actions("user_id=ada") == [(second["id"], "update")]
    assert await actions("action=create&entity_type=agent") == [(second["id"], "create"), (first["id"], "create")]
    assert await actions("entity_type=run") == []
    entries = (await (await api_client.get(AUDIT)).json())["items"]
    middle = entries[1]["timestamp"]
    assert await actions(f"since={middle}") == [(second["id"], "update"), (second["id"], "create")]
    assert await actions(f"until={middle}") == [(first["id"], "create")]
    assert await actions("limit=1&offset=2") == [(first["id"], "create")]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("entity_type=user", "entity_type"),
        ("entity_id=abc", "entity_id"),
        ("since=last-week", "since"),
        ("until=2030-02-30", "until"),
    ],
)
async def test_bad_filters_are_a_422_naming_the_parameter(api_client: Client, query: str, name: str) -> None:
    await error_at(await api_client.get(f"{AUDIT}?{query}"), ["query", name])
