"""Workflows over HTTP: contract §3, versions, validation with its plan, every definition rule with its `loc`."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.api.calls import Client, error_at, execute, problem, register_agent, save_workflow, step

WORKFLOWS = "/api/v1/workflows"
META = {"id", "version", "status", "created_at", "created_by", "updated_at"}
UNKNOWN_ID = "0190d3a8-0000-7000-8000-000000000000"


@pytest.fixture
async def writer(api_client: Client) -> dict[str, Any]:
    return await register_agent(api_client, "writer")


async def test_create_stores_the_document_exactly_as_sent(api_client: Client, writer: dict[str, Any]) -> None:
    document = {
        "name": "triage-ticket",
        "description": "Classify a support ticket and route it",
        "input_schema": {"type": "object", "required": ["ticket"]},
        "steps": [
            {"id": "classify", "agent": "writer", "input": {"text": "{{ input.ticket.body }}"}},
            {
                "id": "refund",
                "agent": writer["id"],
                "depends_on": ["classify"],
                "when": "steps.classify.output.kind == 'refund'",
                "input": {"reason": "{{ steps.classify.output.reason }}"},
            },
            {
                "id": "reply",
                "agent": "writer",
                "depends_on": ["classify", "refund"],
                "input": {"summary": "Ticket {{ input.ticket.id }} is {{ steps.classify.output.kind }}"},
                "timeout_ms": 60000,
                "retry": {"max_attempts": 5},
                "on_failure": "fail",
            },
        ],
        "output": {"reply": "{{ steps.reply.output }}"},
    }
    response = await api_client.post(WORKFLOWS, json=document, headers={"X-User-ID": "ada"})
    assert response.status == 201
    saved = await response.json()
    assert response.headers["Location"] == f"{WORKFLOWS}/{saved['id']}"
    assert {key: value for key, value in saved.items() if key not in META} == document
    assert (saved["version"], saved["status"], saved["created_by"]) == (1, "active", "ada")
    assert saved["created_at"].endswith("Z")
    assert await (await api_client.get(response.headers["Location"])).json() == saved


async def test_put_adds_a_version_and_earlier_versions_never_change(api_client: Client, writer: dict[str, Any]) -> None:
    first = await save_workflow(api_client, "report", step("draft"))
    item = f"{WORKFLOWS}/{first['id']}"
    second_document = {"name": "report-v2", "steps": [step("draft"), step("polish", depends_on=["draft"])]}
    response = await api_client.put(item, json=second_document)
    assert response.status == 200
    second = await response.json()
    assert (second["id"], second["version"]) == (first["id"], 2)
    assert {key: value for key, value in second.items() if key not in META} == second_document

    assert (await (await api_client.get(item)).json())["version"] == 2
    old = await (await api_client.get(f"{item}?version=1")).json()
    assert {key: value for key, value in old.items() if key not in META} == {
        key: value for key, value in first.items() if key not in META
    }
    await problem(await api_client.get(f"{item}?version=3"), 404)
    await error_at(await api_client.get(f"{item}?version=0"), ["query", "version"])
    await error_at(await api_client.get(f"{item}?version=two"), ["query", "version"])


async def test_versions_are_listed_newest_first_in_pages(api_client: Client, writer: dict[str, Any]) -> None:
    workflow = await save_workflow(api_client, "evolving")
    item = f"{WORKFLOWS}/{workflow['id']}"
    for description in ("second", "third"):
        assert (
            await api_client.put(item, json={"name": "evolving", "steps": [step("only")], "description": description})
        ).status == 200
    page = await (await api_client.get(f"{item}/versions")).json()
    assert [version["version"] for version in page["items"]] == [3, 2, 1]
    assert page["items"][0]["description"] == "third"
    assert "description" not in page["items"][2]
    second_page = await (await api_client.get(f"{item}/versions?limit=1&offset=1")).json()
    assert ([v["version"] for v in second_page["items"]], second_page["total"]) == ([2], 3)
    await problem(await api_client.get(f"{WORKFLOWS}/{UNKNOWN_ID}/versions"), 404)


async def test_delete_is_soft_and_runs_stay_readable(api_client: Client, writer: dict[str, Any]) -> None:
    workflow = await save_workflow(api_client, "short-lived")
    run = await (await execute(api_client, workflow["id"], {"input": {}})).json()
    item = f"{WORKFLOWS}/{workflow['id']}"
    response = await api_client.delete(item)
    assert response.status == 204
    await problem(await api_client.get(item), 404)
    await problem(await api_client.delete(item), 404)
    await problem(await execute(api_client, workflow["id"], {"input": {}}), 404)
    assert (await (await api_client.get(WORKFLOWS)).json())["total"] == 0
    assert (await api_client.get(f"/api/v1/runs/{run['id']}")).status == 200
    await save_workflow(api_client, "short-lived")


async def test_a_taken_name_is_a_409(api_client: Client, writer: dict[str, Any]) -> None:
    await save_workflow(api_client, "unique")
    other = await save_workflow(api_client, "other")
    await problem(await api_client.post(WORKFLOWS, json={"name": "unique", "steps": [step("a")]}), 409)
    await problem(
        await api_client.put(f"{WORKFLOWS}/{other['id']}", json={"name": "unique", "steps": [step("a")]}), 409
    )


async def test_list_filters_sorts_and_pages(api_client: Client, writer: dict[str, Any]) -> None:
    for name in ("ingest", "Index", "export"):
        await save_workflow(api_client, name)
    await save_workflow(api_client, "paused", status="inactive")

    async def names(query: str) -> list[str]:
        return [item["name"] for item in (await (await api_client.get(f"{WORKFLOWS}?{query}")).json())["items"]]

    assert await names("") == ["ingest", "Index", "export", "paused"]
    assert await names("name=IN") == ["ingest", "Index"]
    assert await names("status=inactive") == ["paused"]
    assert await names("sort=name") == ["export", "Index", "ingest", "paused"]
    assert await names("sort=-updated_at&limit=2") == ["paused", "export"]
    summary = (await (await api_client.get(f"{WORKFLOWS}?limit=1")).json())["items"][0]
    assert set(summary) == {"id", "name", "status", "version", "created_at", "created_by", "updated_at"}


async def test_validate_answers_the_plan_and_stores_nothing(api_client: Client, writer: dict[str, Any]) -> None:
    reviewer = await register_agent(api_client, "reviewer")
    document = {
        "name": "diamond",
        "steps": [
            step("fetch"),
            step("left", depends_on=["fetch"]),
            step("right", "reviewer", depends_on=["fetch"]),
            step("join", depends_on=["left", "right"], input={"l": "{{ steps.left.output }}"}),
        ],
    }
    response = await api_client.post(f"{WORKFLOWS}/validate", json=document)
    assert response.status == 200

    def planned(step_id: str, agent: dict[str, Any]) -> dict[str, str]:
        return {"step_id": step_id, "agent_id": agent["id"], "agent_name": agent["name"]}

    assert await response.json() == {
        "valid": True,
        "plan": {
            "levels": [
                [planned("fetch", writer)],
                [planned("left", writer), planned("right", reviewer)],
                [planned("join", writer)],
            ]
        },
    }
    assert (await (await api_client.get(WORKFLOWS)).json())["total"] == 0


CYCLE = [step("a", depends_on=["b"]), step("b", depends_on=["a"])]


@pytest.mark.parametrize(
    ("steps", "loc", "error_type", "words"),
    [
        ([step("a"), step("a")], ["steps", 1, "id"], "duplicate", "duplicate"),
        ([step("Bad-Id")], ["steps", 0, "id"], "string_pattern", "lowercase"),
        ([step("s" * 65)], ["steps", 0, "id"], "string_length", "64"),
        ([step("a"), step("b", depends_on=["a", "ghost"])], ["steps", 1, "depends_on", 1], "unknown_step", "ghost"),
        ([step("a", depends_on=["a"])], ["steps", 0, "depends_on", 0], "cycle", "itself"),
        (CYCLE, ["steps", 0, "depends_on"], "cycle", "a -> b -> a"),
        ([step("a", depends_on=[3])], ["steps", 0, "depends_on", 0], "type_error", "string"),
        ([step("a", input={"t": "{{ input. }}"})], ["steps", 0, "input", "t"], "expression", ""),
        ([step("a", input="{{ unclosed")], ["steps", 0, "input"], "expression", "unclosed"),
        ([step("a"), step("b", when="steps.a.output ==")], ["steps", 1, "when"], "expression", ""),
        ([step("a"), step("b", input="{{ steps.a.output }}")], ["steps", 1, "input"], "not_an_ancestor", "depends_on"),
        ([step("a", when="steps.b.output"), step("b")], ["steps", 0, "when"], "not_an_ancestor", "'b'"),
        ([step("a", timeout_ms=50)], ["steps", 0, "timeout_ms"], "range", "100"),
        ([step("a", retry={"max_attempts": 20})], ["steps", 0, "retry", "max_attempts"], "range", "10"),
        ([step("a", retry={"tries": 2})], ["steps", 0, "retry", "tries"], "extra_forbidden", ""),
        ([step("a", on_failure="ignore")], ["steps", 0, "on_failure"], "enum", "continue"),
        ([{"id": "a"}], ["steps", 0, "agent"], "missing", ""),
        ([], ["steps"], "too_short", "at least one"),
        ([step(f"s{i}") for i in range(501)], ["steps"], "cap_exceeded", "500"),
    ],
)
@pytest.mark.parametrize("path", [WORKFLOWS, f"{WORKFLOWS}/validate"])
async def test_each_definition_rule_is_a_422_at_its_place(
    api_client: Client, writer: dict[str, Any], path: str, steps: list[Any], loc: list[Any], error_type: str, words: str
) -> None:
    error = await error_at(await api_client.post(path, json={"name": "wf", "steps": steps}), loc)
    assert error["type"] == error_type
    assert words in error["msg"]


@pytest.mark.parametrize(
    ("document", "loc", "error_type"),
    [
        ({"name": "bad name", "steps": [step("a")]}, ["name"], "string_pattern"),
        ({"steps": [step("a")]}, ["name"], "missing"),
        (
            {"name": "wf", "steps": [step("a")], "input_schema": {"type": "nonsense"}},
            ["input_schema", "type"],
            "json_schema",
        ),
        ({"name": "wf", "steps": [step("a")], "input_schema": []}, ["input_schema"], "type_error"),
        ({"name": "wf", "steps": [step("a")], "output": "{{ steps.z.output }}"}, ["output"], "unknown_step"),
        ({"name": "wf", "steps": [step("a")], "status": "archived"}, ["status"], "enum"),
        ({"name": "wf", "steps": [step("a")], "version": 3}, ["version"], "extra_forbidden"),
        ({"name": "wf", "steps": {"a": step("a")}}, ["steps"], "type_error"),
    ],
)
async def test_workflow_fields_are_checked(
    api_client: Client, writer: dict[str, Any], document: dict[str, Any], loc: list[Any], error_type: str
) -> None:
    assert (await error_at(await api_client.post(WORKFLOWS, json=document), loc))["type"] == error_type


async def test_steps_must_use_known_active_agents(api_client: Client, writer: dict[str, Any]) -> None:
    idle = await register_agent(api_client, "idle", status="inactive")
    document = {"name": "wf", "steps": [step("a"), step("b", "nobody"), step("c", idle["id"]), step("d", UNKNOWN_ID)]}
    for path in (WORKFLOWS, f"{WORKFLOWS}/validate"):
        response = await api_client.post(path, json=document)
        errors = {tuple(e["loc"]): e for e in (await problem(response, 422))["errors"]}
        assert set(errors) == {("steps", 1, "agent"), ("steps", 2, "agent"), ("steps", 3, "agent")}
        assert errors[("steps", 1, "agent")]["type"] == "unknown_agent"
        assert errors[("steps", 2, "agent")]["type"] == "inactive_agent"


async def test_an_invalid_update_leaves_the_latest_version(api_client: Client, writer: dict[str, Any]) -> None:
    workflow = await save_workflow(api_client, "stable")
    item = f"{WORKFLOWS}/{workflow['id']}"
    await error_at(await api_client.put(item, json={"name": "stable", "steps": CYCLE}), ["steps", 0, "depends_on"])
    assert (await (await api_client.get(item)).json())["version"] == 1
    await problem(await api_client.put(f"{WORKFLOWS}/{UNKNOWN_ID}", json={"name": "x", "steps": [step("a")]}), 404)


async def test_an_inactive_workflow_cannot_execute(api_client: Client, writer: dict[str, Any]) -> None:
    workflow = await save_workflow(api_client, "dormant", status="inactive")
    assert workflow["status"] == "inactive"
    await problem(await execute(api_client, workflow["id"], {"input": {}}), 409)
