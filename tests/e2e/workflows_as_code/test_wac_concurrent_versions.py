"""Versions stay immutable and nothing is lost when two clients PUT the same workflow at once."""

from __future__ import annotations

import asyncio
from typing import Any

from fixtures.service import RunningService

WORKFLOWS = "/api/v1/workflows"
SERVER_FIELDS = {"id", "version", "status", "created_at", "created_by", "updated_at"}
ROUNDS = 5


def document(description: str) -> dict[str, Any]:
    return {
        "name": "contended",
        "description": description,
        "steps": [{"id": "only", "agent": "writer", "input": {"by": description}}],
    }


def without_server_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in SERVER_FIELDS}


async def test_two_writers_at_once_both_get_a_version_of_their_own(service: RunningService) -> None:
    client = service.client
    response = await client.post("/api/v1/agents", json={"name": "writer", "url": "http://127.0.0.1:9/call"})
    assert response.status == 201, await response.text()
    response = await client.post(WORKFLOWS, json=document("first"))
    assert response.status == 201, await response.text()
    item = f"{WORKFLOWS}/{(await response.json())['id']}"

    sent: dict[int, dict[str, Any]] = {1: document("first")}
    for round_ in range(ROUNDS):
        documents = [document(f"writer {writer} in round {round_}") for writer in ("a", "b")]
        responses = await asyncio.gather(*(client.put(item, json=body) for body in documents))
        answers = [(response.status, await response.json()) for response in responses]
        assert [status for status, _ in answers] == [200, 200], answers
        for (_, saved), body in zip(answers, documents, strict=True):
            assert without_server_fields(saved) == body
            sent[saved["version"]] = body
        assert len(sent) == 1 + 2 * (round_ + 1), "two writers were given the same version"

    assert sorted(sent) == list(range(1, 2 * ROUNDS + 2))
    for number, body in sent.items():
        response = await client.get(item, params={"version": str(number)})
        assert response.status == 200
        assert without_server_fields(await response.json()) == body
    listed = await (await client.get(f"{item}/versions", params={"limit": "100"})).json()
    assert [entry["version"] for entry in listed["items"]] == sorted(sent, reverse=True)
    assert (await (await client.get(item)).json())["version"] == 2 * ROUNDS + 1
