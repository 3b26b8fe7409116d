"""Contract §4, execute: idempotency keys under concurrency, the input schema, and choosing a version."""

from __future__ import annotations

import asyncio
import collections

from e2e.execution.service_api import RUNS, Json, Wf, body_of, step
from fixtures.agents import DemoAgent

CONCURRENT_EXECUTES = 50


async def runs_of(wf: Wf, workflow_id: str) -> int:
    page = await body_of(await wf.client.get(RUNS, params={"workflow_id": workflow_id}), 200)
    total: int = page["total"]
    return total


async def test_concurrent_executes_with_one_idempotency_key_make_one_run(wf: Wf, demo_agent: DemoAgent) -> None:
    workflow = await wf.workflow(step("first", "echo", input="{{ input }}"), step("second", "echo", "first"))
    headers = {"Idempotency-Key": "order-42"}
    responses = await asyncio.gather(
        *(wf.execute(workflow["id"], {"order": 42}, headers=headers) for _ in range(CONCURRENT_EXECUTES))
    )
    assert collections.Counter(response.status for response in responses) == {202: 1, 200: CONCURRENT_EXECUTES - 1}
    runs = [await response.json() for response in responses]
    assert len({run["id"] for run in runs}) == 1
    assert {response.headers["Location"] for response in responses} == {f"{RUNS}/{runs[0]['id']}"}
    assert await runs_of(wf, workflow["id"]) == 1

    assert (await wf.wait(runs[0]["id"]))["status"] == "succeeded"
    assert [call.body["step_id"] for call in demo_agent.calls()] == ["first", "second"]
    replay = await wf.execute(workflow["id"], {"order": 42}, headers=headers)
    assert (await body_of(replay, 200))["id"] == runs[0]["id"]


async def test_an_idempotency_key_reused_with_another_body_is_a_422(wf: Wf) -> None:
    workflow = await wf.workflow(step("only", "echo"))
    headers = {"Idempotency-Key": "nightly-2024-05-01"}
    first = await body_of(await wf.execute(workflow["id"], {"n": 1}, headers=headers), 202)
    other_bodies: list[Json] = [{"input": {"n": 2}}, {"input": {}}, {"input": {"n": 1}, "version": 2}]
    for other_body in other_bodies:
        response = await wf.client.post(f"/api/v1/workflows/{workflow['id']}/execute", json=other_body, headers=headers)
        problem = await body_of(response, 422)
        assert response.content_type == "application/problem+json"
        assert problem["errors"], problem
    same = await body_of(await wf.execute(workflow["id"], {"n": 1}, headers=headers, version=1), 200)
    assert same["id"] == first["id"]
    assert await runs_of(wf, workflow["id"]) == 1
    # A key belongs to one workflow: another workflow's run with the same key is a new run.
    other = await wf.workflow(step("only", "echo"))
    elsewhere = await body_of(await wf.execute(other["id"], {"n": 1}, headers=headers), 202)
    assert elsewhere["id"] != first["id"]


async def test_an_input_against_the_input_schema_is_a_422_at_its_place(wf: Wf, demo_agent: DemoAgent) -> None:
    schema = {
        "type": "object",
        "required": ["ticket"],
        "properties": {"ticket": {"type": "object", "properties": {"id": {"type": "integer"}}}},
    }
    workflow = await wf.workflow(step("only", "echo"), input_schema=schema)
    for bad_input, loc in (({"ticket": {"id": "seven"}}, ["input", "ticket", "id"]), ({}, ["input"])):
        problem = await body_of(await wf.execute(workflow["id"], bad_input), 422)
        assert [error["loc"] for error in problem["errors"]] == [loc]
    assert await runs_of(wf, workflow["id"]) == 0
    run = await body_of(await wf.execute(workflow["id"], {"ticket": {"id": 7}}), 202)
    assert (await wf.wait(run["id"]))["status"] == "succeeded"
    assert len(demo_agent.calls()) == 1


async def test_a_run_of_an_older_version_runs_that_versions_definition(wf: Wf, demo_agent: DemoAgent) -> None:
    workflow = await wf.workflow(step("only", "echo", input={"version": 1}))
    await wf.new_version(workflow, step("only", "text", input={"text": "version 2"}))

    older = await body_of(await wf.execute(workflow["id"], version=1), 202)
    latest = await body_of(await wf.execute(workflow["id"]), 202)
    assert (older["workflow_version"], latest["workflow_version"]) == (1, 2)
    assert (await wf.wait(older["id"]))["output"] == {"only": {"version": 1}}
    assert (await wf.wait(latest["id"]))["output"] == {"only": {"text": "version 2"}}
    [echo] = demo_agent.calls("/echo")
    [text] = demo_agent.calls("/text")
    assert echo.body["workflow"] == {"id": workflow["id"], "name": workflow["name"], "version": 1}
    assert text.body["workflow"]["version"] == 2
    await body_of(await wf.execute(workflow["id"], version=3), 404)
