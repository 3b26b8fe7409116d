"""HTTP behaviour shared by every route: request ids, problem details, body and query checks, logs."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from adapters_http.server import HttpSettings
from e2e.api.calls import Client, error_at, execute, problem, register_agent, save_workflow, step
from e2e.api.stack import ApiStack

AGENTS = "/api/v1/agents"
UNKNOWN_ID = "0190d3a8-0000-7000-8000-000000000000"


def is_uuid4(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4
    except ValueError:
        return False


async def test_a_sane_request_id_is_echoed_on_success_and_on_error(api_client: Client) -> None:
    rid = {"X-Request-ID": "trace-1.2:3_a-B"}
    created = await api_client.post(AGENTS, json={"name": "a", "url": "http://127.0.0.1:9/"}, headers=rid)
    assert created.headers["X-Request-ID"] == "trace-1.2:3_a-B"
    missing = await api_client.get(f"{AGENTS}/{UNKNOWN_ID}", headers=rid)
    assert (await problem(missing, 404))["request_id"] == "trace-1.2:3_a-B"
    invalid = await api_client.post(AGENTS, json={}, headers=rid)
    assert (await problem(invalid, 422))["request_id"] == "trace-1.2:3_a-B"
    assert (await api_client.get("/health", headers=rid)).headers["X-Request-ID"] == "trace-1.2:3_a-B"


@pytest.mark.parametrize("given", ["", "has space", "x" * 129, "semi;colon", "ümlaut", "new\\nline"])
async def test_an_insane_request_id_is_replaced_by_a_new_uuid4(api_client: Client, given: str) -> None:
    response = await api_client.get(AGENTS, headers={"X-Request-ID": given})
    assert is_uuid4(response.headers["X-Request-ID"])


async def test_a_request_without_id_gets_a_fresh_one(api_client: Client) -> None:
    first = (await api_client.get(AGENTS)).headers["X-Request-ID"]
    second = (await api_client.get("/api/v1/nowhere")).headers["X-Request-ID"]
    assert is_uuid4(first)
    assert is_uuid4(second)
    assert first != second


async def test_the_request_id_reaches_the_audit_log_and_the_agent_call(stack: ApiStack) -> None:
    await register_agent(stack.client, "writer")
    stack.invoker.register("writer", lambda call: {})
    workflow = await save_workflow(stack.client, "traced")
    run = await (await execute(stack.client, workflow["id"], {"input": {}}, headers={"X-Request-ID": "exec-7"})).json()
    await stack.drive(run["id"])
    assert [call.request_id for call in stack.invoker.calls] == ["exec-7"]
    entries = (await (await stack.client.get(f"/api/v1/audit-logs?entity_id={run['id']}")).json())["items"]
    assert [entry["request_id"] for entry in entries] == ["exec-7"]


async def test_each_request_writes_one_access_log_line(api_client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters_http.server.access")
    await api_client.get(f"{AGENTS}/{UNKNOWN_ID}", headers={"X-Request-ID": "logged-1"})
    await api_client.get("/no/such/path", headers={"X-Request-ID": "logged-2"})
    lines = [record.getMessage() for record in caplog.records if record.name == "adapters_http.server.access"]
    assert len(lines) == 2
    method, route, status, duration, rid = lines[0].split()
    assert (method, route, status, rid) == ("GET", "/api/v1/agents/{agent_id}", "404", "logged-1")
    assert duration.endswith("ms")
    assert lines[1].split()[1:3] == ["<unmatched>", "404"]


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b'{"name": "a"} trailing',
        b'{"name": NaN}',
        b'{"timeout_ms": Infinity}',
        b'{"timeout_ms": 1e400}',
        b'{"name": "\xff\xfe"}',
        b"\x00",
        ('{"input": ' + nested(65) + "}").encode(),
        ("[" * 200_000).encode(),
        ("[" * 200_000 + "]" * 200_000).encode(),
    ],
)
async def test_malformed_or_too_deep_json_is_a_400(api_client: Client, raw: bytes) -> None:
    response = await api_client.post(AGENTS, data=raw, headers={"Content-Type": "application/json"})
    await problem(response, 400)


async def test_json_nested_up_to_the_cap_is_accepted(api_client: Client) -> None:
    await register_agent(api_client, "writer")
    workflow = await save_workflow(api_client, "deep")
    accepted = await api_client.post(
        f"/api/v1/workflows/{workflow['id']}/execute",
        data='{"input": ' + nested(64) + "}",
        headers={"Content-Type": "application/json"},
    )
    assert accepted.status == 202
    refused = await api_client.post(
        f"/api/v1/workflows/{workflow['id']}/execute",
        data='{"input": ' + nested(65) + "}",
        headers={"Content-Type": "application/json"},
    )
    assert "64" in (await problem(refused, 400))["detail"]


async def test_a_body_over_the_default_cap_is_a_413(api_client: Client) -> None:
    body = b'{"name": "' + b"n" * (1024 * 1024) + b'"}'
    response = await api_client.post(AGENTS, data=body, headers={"Content-Type": "application/json"})
    assert "1048576" in (await problem(response, 413))["detail"]


@pytest.mark.parametrize("http_settings", [HttpSettings(max_body_bytes=2048)])
async def test_the_body_cap_is_a_setting(api_client: Client) -> None:
    small = {"name": "a", "url": "http://127.0.0.1:9/", "description": "d" * 1500}
    assert (await api_client.post(AGENTS, json=small)).status == 201
    large = {**small, "name": "b", "description": "d" * 2100}
    assert "2048" in (await problem(await api_client.post(AGENTS, json=large), 413))["detail"]


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", '{"name": "a", "url": "http://127.0.0.1:9/"}'),
        ("application/x-www-form-urlencoded", "name=a&url=http://127.0.0.1:9/"),
        ("application/xml", "<agent/>"),
    ],
)
async def test_a_body_that_is_not_json_is_a_415(api_client: Client, content_type: str, data: str) -> None:
    await problem(await api_client.post(AGENTS, data=data, headers={"Content-Type": content_type}), 415)


async def test_a_json_suffix_media_type_is_json(api_client: Client) -> None:
    body = b'{"name": "a", "url": "http://127.0.0.1:9/"}'
    response = await api_client.post(AGENTS, data=body, headers={"Content-Type": "application/vnd.wf+json"})
    assert response.status == 201


@pytest.mark.parametrize(
    ("body", "error_type"), [(None, "missing"), ([], "type_error"), ("agent", "type_error"), (3, "type_error")]
)
async def test_a_body_that_is_not_an_object_is_a_422_at_the_root(
    api_client: Client, body: Any, error_type: str
) -> None:
    response = await api_client.post(AGENTS, json=body)
    assert (await error_at(response, []))["type"] == error_type


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nowhere",
        "/api/v2/agents",
        f"{AGENTS}/not-a-uuid",
        f"{AGENTS}/12345/health",
        "/api/v1/workflows/123",
        "/api/v1/workflows/123/versions",
        f"/api/v1/workflows/{UNKNOWN_ID}",
        f"{AGENTS}/{UNKNOWN_ID}/health",
    ],
)
async def test_unknown_routes_and_ids_are_a_404_problem(api_client: Client, path: str) -> None:
    await problem(await api_client.get(path), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", f"{AGENTS}/{UNKNOWN_ID}", {"GET", "PUT", "DELETE"}),
        ("DELETE", AGENTS, {"GET", "POST"}),
        ("POST", "/api/v1/runs", {"GET"}),
        ("GET", f"/api/v1/runs/{UNKNOWN_ID}/cancel", {"POST"}),
        ("PUT", "/health", {"GET"}),
    ],
)
async def test_a_wrong_method_is_a_405_with_allow(
    api_client: Client, method: str, path: str, allowed: set[str]
) -> None:
    response = await api_client.request(method, path)
    await problem(response, 405)
    assert allowed <= set(response.headers["Allow"].split(","))


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        (AGENTS, {"name": "a\u0000b", "url": "http://127.0.0.1:9/"}, ["name"]),
        (AGENTS, {"name": "a", "url": "http://127.0.0.1:9/", "description": "lone \ud800"}, ["description"]),
        (
            "/api/v1/workflows",
            {"name": "w", "steps": [step("a", input={"x": ["ok", "\u0000"]})]},
            ["steps", 0, "input", "x", 1],
        ),
        (
            "/api/v1/workflows/validate",
            {"name": "w", "steps": [step("a", input={"k\udfff": 1})]},
            ["steps", 0, "input"],
        ),
    ],
)
async def test_text_postgresql_cannot_store_is_a_422(
    api_client: Client, path: str, body: dict[str, Any], loc: list[Any]
) -> None:
    await register_agent(api_client, "writer")
    assert (await error_at(await api_client.post(path, json=body), loc))["type"] == "unstorable_text"


async def test_unstorable_text_in_run_input_and_query_is_a_422(api_client: Client) -> None:
    await register_agent(api_client, "writer")
    workflow = await save_workflow(api_client, "w")
    await error_at(await execute(api_client, workflow["id"], {"input": {"note": "\u0000"}}), ["input", "note"])
    await error_at(await api_client.get(f"{AGENTS}?name=%00"), ["query", "name"])
    await error_at(await api_client.get("/api/v1/audit-logs?user_id=a%00b"), ["query", "user_id"])


async def test_an_unusable_user_header_is_a_422(api_client: Client) -> None:
    response = await api_client.get(AGENTS)
    assert response.status == 200
    response = await api_client.post(
        AGENTS, json={"name": "a", "url": "http://127.0.0.1:9/"}, headers={"X-User-ID": "u" * 129}
    )
    await error_at(response, ["header", "X-User-ID"])


LIST_PATHS = [
    "/api/v1/agents",
    "/api/v1/workflows",
    "/api/v1/workflows/{workflow_id}/versions",
    "/api/v1/runs",
    "/api/v1/runs/{run_id}/steps",
    "/api/v1/runs/{run_id}/logs",
    "/api/v1/audit-logs",
]


@pytest.fixture
async def list_ids(api_client: Client) -> dict[str, str]:
    await register_agent(api_client, "writer")
    workflow = await save_workflow(api_client, "w")
    run = await (await execute(api_client, workflow["id"], {"input": {}})).json()
    return {"workflow_id": workflow["id"], "run_id": run["id"]}


@pytest.mark.parametrize("path", LIST_PATHS)
@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
    ],
)
async def test_every_list_refuses_bad_page_parameters(
    api_client: Client, list_ids: dict[str, str], path: str, query: str, name: str
) -> None:
    response = await api_client.get(path.format(**list_ids) + "?" + query)
    assert (await error_at(response, ["query", name]))["msg"]


@pytest.mark.parametrize("path", LIST_PATHS)
async def test_every_list_has_the_envelope_and_the_page_edges(
    api_client: Client, list_ids: dict[str, str], path: str
) -> None:
    url = path.format(**list_ids)
    first = await (await api_client.get(url)).json()
    assert set(first) == {"items", "total", "limit", "offset"}
    assert (first["limit"], first["offset"]) == (20, 0)
    assert first["total"] >= 1
    widest = await (await api_client.get(url + "?limit=100&offset=0")).json()
    assert widest["limit"] == 100
    assert widest["items"] == first["items"]
    beyond = await (await api_client.get(f"{url}?offset={first['total']}")).json()
    assert (beyond["items"], beyond["total"]) == ([], first["total"])


@pytest.mark.parametrize("path", ["/api/v1/agents", "/api/v1/workflows", "/api/v1/runs"])
async def test_unknown_sort_fields_are_a_422(api_client: Client, path: str) -> None:
    assert (await error_at(await api_client.get(f"{path}?sort=colour"), ["query", "sort"]))["type"] == "enum"
