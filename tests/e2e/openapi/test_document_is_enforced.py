"""What the document calls invalid, the server refuses: cases schemathesis found, or could, kept as tests."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.openapi.conftest import Client
from fixtures.service import RunningService

AGENT = {"name": "writer", "url": "http://127.0.0.1:9/call"}


async def errors_of(response_status: int, body: dict[str, Any]) -> list[dict[str, Any]]:
    assert response_status == 422, body
    errors: list[dict[str, Any]] = body["errors"]
    return errors


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_a_json_null_body_is_not_an_empty_one(docs_client: Client, method: str) -> None:
    created = await (await docs_client.post("/api/v1/agents", json=AGENT)).json()
    path = "/api/v1/agents" if method == "POST" else f"/api/v1/agents/{created['id']}"
    response = await docs_client.request(method, path, data="null", headers={"Content-Type": "application/json"})
    errors = await errors_of(response.status, await response.json())
    assert errors == [{"loc": [], "msg": "must be an object", "type": "type_error"}]


async def test_an_optional_body_may_be_left_out_but_not_null(docs_client: Client) -> None:
    run_id = "0190f3c3-0d24-7a51-b6c7-d8e9f0a1b2c3"
    absent = await docs_client.post(f"/api/v1/runs/{run_id}/retry")
    assert absent.status == 404
    null = await docs_client.post(
        f"/api/v1/runs/{run_id}/retry", data="null", headers={"Content-Type": "application/json"}
    )
    assert null.status == 422


@pytest.mark.parametrize(
    "moment",
    ["2030-01-31", "2030-01-31T12:00:00", "2030-01-31 12:00:00Z", "20300131T120000Z", "2030-01-31T12:00Z"],
)
async def test_query_times_must_be_rfc_3339_date_times(docs_client: Client, moment: str) -> None:
    response = await docs_client.get("/api/v1/runs", params={"created_after": moment})
    errors = await errors_of(response.status, await response.json())
    assert errors[0] == {
        "loc": ["query", "created_after"],
        "msg": "must be an RFC 3339 date-time, such as 2030-01-31T12:00:00Z",
        "type": "type_error",
    }


@pytest.mark.parametrize("moment", ["2030-01-31T12:00:00Z", "2030-01-31t12:00:00.5z", "2030-01-31T12:00:00+02:00"])
async def test_rfc_3339_date_times_are_taken(docs_client: Client, moment: str) -> None:
    assert (await docs_client.get("/api/v1/audit-logs", params={"since": moment})).status == 200


@pytest.mark.parametrize(
    "text",
    [
        "0190f3c25a8e7c1d9b2a4e6f8d0a1b2c",
        "{0190f3c2-5a8e-7c1d-9b2a-4e6f8d0a1b2c}",
        "urn:uuid:0190f3c2-5a8e-7c1d-9b2a-4e6f8d0a1b2c",
    ],
)
async def test_ids_are_hyphenated_uuids(docs_client: Client, text: str) -> None:
    created = await (await docs_client.post("/api/v1/agents", json=AGENT)).json()
    squeezed = created["id"].replace("-", "")
    assert (await docs_client.get(f"/api/v1/agents/{squeezed}")).status == 404
    assert (await docs_client.get(f"/api/v1/agents/{created['id'].upper()}")).status == 200
    response = await docs_client.get("/api/v1/runs", params={"workflow_id": text})
    errors = await errors_of(response.status, await response.json())
    assert errors[0]["loc"] == ["query", "workflow_id"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("created_after=0001-01-01T00:00:00%2B14:00", "created_after"),
        ("created_before=9999-12-31T23:59:59-14:00", "created_before"),
    ],
)
async def test_times_beyond_the_datetime_range_are_a_422(service: RunningService, query: str, name: str) -> None:
    response = await service.client.get(f"/api/v1/runs?{query}")
    errors = await errors_of(response.status, await response.json())
    assert errors == [
        {"loc": ["query", name], "msg": "must be a time between years 1 and 9999 in UTC", "type": "range"}
    ]


async def test_a_version_beyond_32_bits_names_no_version(service: RunningService) -> None:
    client = service.client
    await client.post("/api/v1/agents", json=AGENT)
    created = await client.post("/api/v1/workflows", json={"name": "w", "steps": [{"id": "s", "agent": "writer"}]})
    workflow_id = (await created.json())["id"]
    response = await client.get(f"/api/v1/workflows/{workflow_id}?version={2**31}")
    errors = await errors_of(response.status, await response.json())
    assert errors[0]["loc"] == ["query", "version"]
    assert (await client.get(f"/api/v1/workflows/{workflow_id}?version={2**31 - 1}")).status == 404
    execute = await client.post(f"/api/v1/workflows/{workflow_id}/execute", json={"version": 2**40})
    assert execute.status == 404


async def test_a_last_event_id_beyond_64_bits_replays_the_stream(service: RunningService) -> None:
    client = service.client
    await client.post("/api/v1/agents", json=AGENT)
    created = await client.post("/api/v1/workflows", json={"name": "w", "steps": [{"id": "s", "agent": "writer"}]})
    run = await (await client.post(f"/api/v1/workflows/{(await created.json())['id']}/execute")).json()
    await client.post(f"/api/v1/runs/{run['id']}/cancel")
    response = await client.get(f"/api/v1/runs/{run['id']}/events", headers={"Last-Event-ID": "9" * 25})
    assert response.status == 200
    assert "event: run_created\n" in await response.text()
