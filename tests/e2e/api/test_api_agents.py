"""Agents over HTTP: contract §1, every field rule with its `loc`, masking, partial updates, lists."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.api.calls import Client, error_at, problem, register_agent
from e2e.api.stack import ApiStack
from wfcore.domain.ids import AgentId

AGENTS = "/api/v1/agents"


async def test_register_answers_201_with_location_defaults_and_masked_secret(api_client: Client) -> None:
    response = await api_client.post(
        AGENTS,
        json={
            "name": "summariser",
            "url": "https://agents.internal:8443/v1/summarise?x=1",
            "auth_type": "bearer",
            "auth_config": {"token": "tok-123"},
        },
    )
    assert response.status == 201
    agent = await response.json()
    assert response.headers["Location"] == f"{AGENTS}/{agent['id']}"
    assert "tok-123" not in await response.text()
    assert agent["auth_config"] == {"token": "***"}
    assert agent["health_url"] == "https://agents.internal:8443/health"
    assert agent["timeout_ms"] == 30000
    assert agent["retry_config"] == {
        "max_attempts": 3,
        "initial_backoff_ms": 500,
        "max_backoff_ms": 30000,
        "backoff_multiplier": 2.0,
        "retry_on_status": [408, 429, 500, 502, 503, 504],
    }
    assert agent["status"] == "active"
    assert agent["last_health"] is None
    assert agent["created_at"].endswith("Z")
    assert agent["created_at"] == agent["updated_at"]
    fetched = await api_client.get(response.headers["Location"])
    assert await fetched.json() == agent


@pytest.mark.parametrize(
    ("auth_type", "auth_config", "shown"),
    [
        ("none", None, {}),
        ("bearer", {"token": "t"}, {"token": "***"}),
        ("api_key", {"key": "k"}, {"header": "X-API-Key", "key": "***"}),
        ("api_key", {"key": "k", "header": "X-Token"}, {"header": "X-Token", "key": "***"}),
        ("basic", {"username": "ann", "password": "p"}, {"username": "ann", "password": "***"}),
    ],
)
async def test_every_auth_type_shows_its_secrets_masked(
    api_client: Client, auth_type: str, auth_config: Any, shown: dict[str, str]
) -> None:
    agent = await register_agent(api_client, auth_type=auth_type, auth_config=auth_config)
    assert agent["auth_type"] == auth_type
    assert agent["auth_config"] == shown


@pytest.mark.parametrize(
    ("fields", "loc", "error_type"),
    [
        ({"auth_type": "bearer"}, ["auth_config", "token"], "missing"),
        ({"auth_type": "bearer", "auth_config": {"token": 5}}, ["auth_config", "token"], "type_error"),
        ({"auth_type": "bearer", "auth_config": {"token": ""}}, ["auth_config", "token"], "value_error"),
        (
            {"auth_type": "api_key", "auth_config": {"key": "k", "scope": "x"}},
            ["auth_config", "scope"],
            "extra_forbidden",
        ),
        (
            {"auth_type": "api_key", "auth_config": {"key": "k", "header": " "}},
            ["auth_config", "header"],
            "value_error",
        ),
        ({"auth_type": "basic", "auth_config": {"username": "u"}}, ["auth_config", "password"], "missing"),
        ({"auth_type": "none", "auth_config": {"token": "t"}}, ["auth_config", "token"], "extra_forbidden"),
        ({"auth_type": "bearer", "auth_config": "t"}, ["auth_config"], "type_error"),
        ({"auth_type": "oauth"}, ["auth_type"], "enum"),
    ],
)
async def test_auth_config_is_validated_per_type(
    api_client: Client, fields: dict[str, Any], loc: list[str], error_type: str
) -> None:
    response = await api_client.post(AGENTS, json={"name": "a", "url": "http://127.0.0.1:9/", **fields})
    assert (await error_at(response, loc))["type"] == error_type


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"name": None}, ["name"]),
        ({"name": ""}, ["name"]),
        ({"name": "n" * 101}, ["name"]),
        ({"name": "-leading-dash"}, ["name"]),
        ({"name": "has space"}, ["name"]),
        ({"url": None}, ["url"]),
        ({"url": "ftp://host/x"}, ["url"]),
        ({"url": "/relative/path"}, ["url"]),
        ({"url": "http://host:99999/"}, ["url"]),
        ({"health_url": "mailto:ops@example.org"}, ["health_url"]),
        ({"description": "d" * 2001}, ["description"]),
        ({"timeout_ms": 99}, ["timeout_ms"]),
        ({"timeout_ms": 600_001}, ["timeout_ms"]),
        ({"retry_config": {"max_attempts": 0}}, ["retry_config", "max_attempts"]),
        ({"retry_config": {"max_attempts": 11}}, ["retry_config", "max_attempts"]),
        ({"retry_config": {"initial_backoff_ms": -1}}, ["retry_config", "initial_backoff_ms"]),
        ({"retry_config": {"initial_backoff_ms": 900, "max_backoff_ms": 800}}, ["retry_config", "max_backoff_ms"]),
        ({"retry_config": {"backoff_multiplier": 0.5}}, ["retry_config", "backoff_multiplier"]),
        ({"retry_config": {"retry_on_status": [503, 600]}}, ["retry_config", "retry_on_status", 1]),
        ({"retry_config": {"jitter": True}}, ["retry_config", "jitter"]),
        ({"status": "deleted"}, ["status"]),
        ({"colour": "blue"}, ["colour"]),
        ({"id": "0190d3a8-0000-7000-8000-000000000000"}, ["id"]),
    ],
)
async def test_each_field_rule_is_a_422_at_its_field(
    api_client: Client, fields: dict[str, Any], loc: list[Any]
) -> None:
    body = {"name": "valid-name", "url": "http://127.0.0.1:9/", **fields}
    await error_at(await api_client.post(AGENTS, json={k: v for k, v in body.items() if v is not None}), loc)


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"name": 1}, ["name"]),
        ({"timeout_ms": "5000"}, ["timeout_ms"]),
        ({"timeout_ms": True}, ["timeout_ms"]),
        ({"timeout_ms": 5000.5}, ["timeout_ms"]),
        ({"description": False}, ["description"]),
        ({"retry_config": {"retry_on_status": ["500"]}}, ["retry_config", "retry_on_status", 0]),
        ({"retry_config": {"backoff_multiplier": "2"}}, ["retry_config", "backoff_multiplier"]),
        ({"retry_config": []}, ["retry_config"]),
    ],
)
async def test_wrong_types_are_refused_not_coerced(api_client: Client, fields: dict[str, Any], loc: list[Any]) -> None:
    response = await api_client.post(AGENTS, json={"name": "n", "url": "http://127.0.0.1:9/", **fields})
    assert (await error_at(response, loc))["type"] == "type_error"


async def test_every_problem_of_a_body_is_reported_at_once(api_client: Client) -> None:
    response = await api_client.post(AGENTS, json={"url": 5, "timeout_ms": "x", "extra": 1})
    errors = (await problem(response, 422))["errors"]
    assert {tuple(error["loc"]) for error in errors} == {("name",), ("url",), ("timeout_ms",), ("extra",)}


async def test_a_taken_name_is_a_409_until_the_holder_is_deleted(api_client: Client) -> None:
    first = await register_agent(api_client, "twin")
    await problem(await api_client.post(AGENTS, json={"name": "twin", "url": "http://127.0.0.1:9/"}), 409)
    assert (await api_client.delete(f"{AGENTS}/{first['id']}")).status == 204
    await register_agent(api_client, "twin")


async def test_partial_update_changes_only_the_fields_sent(api_client: Client) -> None:
    agent = await register_agent(api_client, "editor", description="old")
    item = f"{AGENTS}/{agent['id']}"

    response = await api_client.put(item, json={"timeout_ms": 1500})
    assert response.status == 200
    updated = await response.json()
    assert updated["timeout_ms"] == 1500
    assert {k: v for k, v in updated.items() if k not in ("timeout_ms", "updated_at")} == {
        k: v for k, v in agent.items() if k not in ("timeout_ms", "updated_at")
    }
    assert updated["updated_at"] >= agent["updated_at"]

    moved = await (await api_client.put(item, json={"url": "http://10.1.2.3:8080/run", "description": None})).json()
    assert moved["health_url"] == "http://10.1.2.3:8080/health"
    assert moved["description"] is None
    pinned = await (await api_client.put(item, json={"health_url": "http://10.1.2.3:8080/ready"})).json()
    assert pinned["health_url"] == "http://10.1.2.3:8080/ready"
    reset = await (await api_client.put(item, json={"health_url": None})).json()
    assert reset["health_url"] == "http://10.1.2.3:8080/health"
    retried = await (
        await api_client.put(item, json={"retry_config": {"max_attempts": 5}, "status": "inactive"})
    ).json()
    assert retried["retry_config"]["max_attempts"] == 5
    assert retried["status"] == "inactive"


async def test_full_update_replaces_every_writable_field(api_client: Client) -> None:
    agent = await register_agent(api_client, "full")
    body = {
        "name": "full-2",
        "url": "https://10.0.0.9/x",
        "health_url": "https://10.0.0.9/alive",
        "description": "now described",
        "auth_type": "basic",
        "auth_config": {"username": "u", "password": "p"},
        "timeout_ms": 2000,
        "retry_config": {
            "max_attempts": 2,
            "initial_backoff_ms": 10,
            "max_backoff_ms": 20,
            "backoff_multiplier": 1.5,
            "retry_on_status": [503],
        },
        "status": "inactive",
    }
    updated = await (await api_client.put(f"{AGENTS}/{agent['id']}", json=body)).json()
    assert {key: updated[key] for key in body} == {**body, "auth_config": {"username": "u", "password": "***"}}


async def test_auth_config_alone_keeps_the_type_and_a_masked_secret_keeps_the_value(stack: ApiStack) -> None:
    agent = await register_agent(stack.client, "keyed", auth_type="api_key", auth_config={"key": "k1"})
    item = f"{AGENTS}/{agent['id']}"

    renamed = await (await stack.client.put(item, json={"auth_config": {"key": "***", "header": "X-Key"}})).json()
    assert renamed["auth_config"] == {"header": "X-Key", "key": "***"}
    async with stack.services.uow() as uow:
        stored = await uow.agents.get(AgentId(agent["id"]))
    assert stored.auth.secrets() == {"key": "k1"}

    switched = await (await stack.client.put(item, json={"auth_type": "none"})).json()
    assert (switched["auth_type"], switched["auth_config"]) == ("none", {})
    await error_at(await stack.client.put(item, json={"auth_config": {"token": "t"}}), ["auth_config", "token"])


async def test_update_checks_the_same_rules(api_client: Client) -> None:
    agent = await register_agent(api_client, "strict")
    await register_agent(api_client, "other")
    item = f"{AGENTS}/{agent['id']}"
    await error_at(await api_client.put(item, json={"name": "bad name"}), ["name"])
    await error_at(await api_client.put(item, json={"name": None}), ["name"])
    await error_at(await api_client.put(item, json={"timeout_ms": 50}), ["timeout_ms"])
    await error_at(await api_client.put(item, json={"created_at": "2030-01-01T00:00:00Z"}), ["created_at"])
    await problem(await api_client.put(item, json={"name": "other"}), 409)
    missing = f"{AGENTS}/0190d3a8-0000-7000-8000-000000000000"
    await problem(await api_client.put(missing, json={"timeout_ms": 1000}), 404)


async def test_delete_is_soft_and_answers_204_then_404(api_client: Client) -> None:
    agent = await register_agent(api_client, "gone")
    item = f"{AGENTS}/{agent['id']}"
    response = await api_client.delete(item)
    assert response.status == 204
    assert await response.read() == b""
    await problem(await api_client.get(item), 404)
    await problem(await api_client.delete(item), 404)
    await problem(await api_client.get(item + "/health"), 404)
    assert (await (await api_client.get(AGENTS)).json())["total"] == 0


async def test_list_filters_sorts_and_pages(api_client: Client) -> None:
    for name in ("alpha", "Beta", "gamma", "alphabet"):
        await register_agent(api_client, name)
    await api_client.put(f"{AGENTS}/{(await register_agent(api_client, 'delta'))['id']}", json={"status": "inactive"})

    async def names(query: str) -> tuple[list[str], int]:
        body = await (await api_client.get(f"{AGENTS}?{query}")).json()
        return [agent["name"] for agent in body["items"]], body["total"]

    assert await names("") == (["alpha", "Beta", "gamma", "alphabet", "delta"], 5)
    assert await names("status=inactive") == (["delta"], 1)
    assert await names("status=active&name=ALPHA") == (["alpha", "alphabet"], 2)
    assert await names("sort=name") == (["alpha", "alphabet", "Beta", "delta", "gamma"], 5)
    assert await names("sort=-name&limit=2&offset=1") == (["delta", "Beta"], 5)
    assert await names("sort=-created_at&limit=1") == (["delta"], 5)
    page = await (await api_client.get(f"{AGENTS}?limit=2&offset=4")).json()
    assert (page["limit"], page["offset"], len(page["items"])) == (2, 4, 1)
    await error_at(await api_client.get(f"{AGENTS}?status=retired"), ["query", "status"])


async def test_health_check_answers_the_result_and_records_it(stack: ApiStack) -> None:
    healthy = await register_agent(stack.client, "echo")
    stack.invoker.register("echo", lambda call: call.input)
    silent = await register_agent(stack.client, "silent")

    response = await stack.client.get(f"{AGENTS}/{healthy['id']}/health")
    assert response.status == 200
    result = await response.json()
    assert result["status"] == "healthy"
    assert result["http_status"] == 200
    assert result["checked_at"].endswith("Z")
    agent = await (await stack.client.get(f"{AGENTS}/{healthy['id']}")).json()
    assert agent["last_health"] == result

    unreachable = await (await stack.client.get(f"{AGENTS}/{silent['id']}/health")).json()
    assert unreachable["status"] == "unreachable"
    assert unreachable["detail"]
