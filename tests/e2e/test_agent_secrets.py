"""Agent secrets are write-only: no response, list, audit entry, log line or database column shows them."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.service import RunningService

_names = itertools.count()
secrets = st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]), min_size=12, max_size=40)


def auth_bodies(first: str, second: str) -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
    """An auth config holding `first`, and an update of it to `second`, for each auth type."""
    return st.sampled_from(
        [
            ({"auth_type": "bearer", "auth_config": {"token": first}}, {"auth_config": {"token": second}}),
            (
                {"auth_type": "api_key", "auth_config": {"key": first, "header": "X-Key"}},
                {"auth_config": {"key": second, "header": "X-Key"}},
            ),
            (
                {"auth_type": "basic", "auth_config": {"username": "ada", "password": first}},
                {"auth_config": {"username": "ada", "password": second}},
            ),
        ]
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), first=secrets, second=secrets)
async def test_no_secret_is_ever_shown_or_stored_in_clear(
    service: RunningService, caplog: pytest.LogCaptureFixture, data: st.DataObject, first: str, second: str
) -> None:
    caplog.set_level(logging.DEBUG)
    create, update = data.draw(auth_bodies(first, second))
    client = service.client
    seen: list[str] = []

    async def record(response: Any) -> Any:
        seen.append(await response.text())
        return await response.json()

    body = {"name": f"vault-{next(_names)}", "url": "http://127.0.0.1:9/", **create}
    agent = await record(await client.post("/api/v1/agents", json=body))
    assert "***" in agent["auth_config"].values()
    await record(await client.put(f"/api/v1/agents/{agent['id']}", json=update))
    await record(await client.put(f"/api/v1/agents/{agent['id']}", json={"auth_config": {**update["auth_config"]}}))
    await record(await client.get(f"/api/v1/agents/{agent['id']}"))
    await record(await client.get("/api/v1/agents", params={"limit": "100"}))
    audit = await record(await client.get("/api/v1/audit-logs", params={"entity_id": agent["id"]}))
    assert {entry["action"] for entry in audit["items"]} >= {"create", "update"}

    columns = await stored_agent_columns(service, agent["id"])
    for secret in (first, second):
        assert all(secret not in text for text in seen)
        assert secret not in caplog.text
        assert all(secret not in column for column in columns)


async def stored_agent_columns(service: RunningService, agent_id: str) -> list[str]:
    async with service.container.database().connect() as connection:
        row = (await connection.execute(sa.text("SELECT * FROM agents WHERE id = :id"), {"id": agent_id})).one()
    return [str(value) for value in row]
