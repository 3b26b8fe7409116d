"""Runs over HTTP: contract §4, idempotent execute, reading runs and steps, cancel and retry."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters_memory.agents import AgentFailure
from e2e.api.calls import Client, error_at, execute, problem, register_agent, save_workflow, step
from e2e.api.stack import ApiStack
from wfcore.ports.agents import AgentCall

RUNS = "/api/v1/runs"
UNKNOWN_ID = "0190d3a8-0000-7000-8000-000000000000"
RUN_FIELDS = {
    "id",
    "workflow_id",
    "workflow_name",
    "workflow_version",
    "status",
    "input",
    "output",
    "error",
    "triggered_by",
    "attempt",
    "created_at",
    "started_at",
    "finished_at",
    "cancel_requested_at",
    "cancelled_at",
    "cancelled_by",
}


@pytest.fixture
async def workflow(stack: ApiStack) -> dict[str, Any]:
    """`first` then `second`; the `writer` agent echoes its input."""
    await register_agent(stack.client, "writer")
    stack.invoker.register("writer", lambda call: {"echo": call.input})
    return await save_workflow(
        stack.client,
        "two-steps",
        step("first", input={"n": "{{ input.n }}"}),
        step("second", depends_on=["first"], input="{{ steps.first.output.echo }}"),
        input_schema={"type": "object", "properties": {"n": {"type": "integer"}}},
    )


async def test_execute_answers_202_with_the_pending_run(api_client: Client, workflow: dict[str, Any]) -> None:
    response = await execute(api_client, workflow["id"], {"input": {"n": 1}}, headers={"X-User-ID": "ops"})
    assert response.status == 202
    run = await response.json()
    assert response.headers["Location"] == f"{RUNS}/{run['id']}"
    assert set(run) == RUN_FIELDS
    assert run["status"] == "pending"
    assert (run["workflow_id"], run["workflow_name"], run["workflow_version"]) == (workflow["id"], "two-steps", 1)
    assert (run["input"], run["triggered_by"], run["attempt"]) == ({"n": 1}, "ops", 1)
    assert await (await api_client.get(response.headers["Location"])).json() == run

    steps = await (await api_client.get(f"{RUNS}/{run['id']}/steps")).json()
    assert [(s["step_id"], s["status"], s["attempts"]) for s in steps["items"]] == [
        ("first", "pending", []),
        ("second", "pending", []),
    ]
    assert steps["total"] == 2


async def test_execute_body_is_optional_and_strict(api_client: Client, workflow: dict[str, Any]) -> None:
    empty = await api_client.post(f"/api/v1/workflows/{workflow['id']}/execute")
    assert empty.status == 202
    assert (await empty.json())["input"] == {}
    await error_at(await execute(api_client, workflow["id"], {"input": {}, "version": "1"}), ["version"])
    await error_at(await execute(api_client, workflow["id"], {"inputs": {}}), ["inputs"])
    await error_at(await execute(api_client, workflow["id"], {"input": {"n": "one"}}), ["input", "n"])
    await problem(await execute(api_client, workflow["id"], {"input": {}, "version": 2}), 404)
    await problem(await execute(api_client, UNKNOWN_ID, {"input": {}}), 404)


async def test_an_older_version_can_be_executed(api_client: Client, workflow: dict[str, Any]) -> None:
    document = {"name": "two-steps", "steps": [step("only")]}
    assert (await api_client.put(f"/api/v1/workflows/{workflow['id']}", json=document)).status == 200
    run = await (await execute(api_client, workflow["id"], {"input": {"n": 1}, "version": 1})).json()
    assert run["workflow_version"] == 1
    latest = await (await execute(api_client, workflow["id"], {"input": {}})).json()
    assert latest["workflow_version"] == 2


async def test_a_repeated_idempotency_key_answers_the_first_run(api_client: Client, workflow: dict[str, Any]) -> None:
    key = {"Idempotency-Key": "order-42"}
    first = await execute(api_client, workflow["id"], {"input": {"n": 1}}, headers=key)
    again = await execute(api_client, workflow["id"], {"input": {"n": 1}}, headers=key)
    assert (first.status, again.status) == (202, 200)
    assert await again.json() == await first.json()
    assert again.headers["Location"] == first.headers["Location"]

    error = await error_at(
        await execute(api_client, workflow["id"], {"input": {"n": 2}}, headers=key), ["header", "Idempotency-Key"]
    )
    assert error["type"] == "idempotency_key_reused"
    other_key = await execute(api_client, workflow["id"], {"input": {"n": 1}}, headers={"Idempotency-Key": "order-43"})
    assert other_key.status == 202
    assert (await (await api_client.get(RUNS)).json())["total"] == 2


async def test_concurrent_duplicates_make_one_run(api_client: Client, workflow: dict[str, Any]) -> None:
    responses = await asyncio.gather(
        *(
            execute(api_client, workflow["id"], {"input": {"n": 7}}, headers={"Idempotency-Key": "burst"})
            for _ in range(8)
        )
    )
    assert sorted(response.status for response in responses) == [200] * 7 + [202]
    assert len({(await response.json())["id"] for response in responses}) == 1


async def test_bad_idempotency_keys_are_refused(api_client: Client, workflow: dict[str, Any]) -> None:
    response = await execute(api_client, workflow["id"], {"input": {}}, headers={"Idempotency-Key": "k" * 256})
    await error_at(response, ["header", "Idempotency-Key"])


async def test_a_run_driven_to_the_end_shows_outputs_steps_and_events(
    stack: ApiStack, workflow: dict[str, Any]
) -> None:
    run = await (await execute(stack.client, workflow["id"], {"input": {"n": 3}})).json()
    await stack.drive(run["id"])

    done = await (await stack.client.get(f"{RUNS}/{run['id']}")).json()
    assert done["status"] == "succeeded"
    assert done["output"] == {"second": {"echo": {"n": 3}}}
    assert done["started_at"] <= done["finished_at"]
    steps = (await (await stack.client.get(f"{RUNS}/{run['id']}/steps")).json())["items"]
    first, second = steps
    assert (first["status"], first["input"], first["output"]) == ("succeeded", {"n": 3}, {"echo": {"n": 3}})
    assert second["input"] == {"n": 3}
    assert first["agent_id"] is not None
    assert [(a["attempt"], a["http_status"], a["error"]) for a in first["attempts"]] == [(1, 200, None)]
    assert first["duration_ms"] >= 0

    logs = await (await stack.client.get(f"{RUNS}/{run['id']}/logs")).json()
    types = [event["type"] for event in logs["items"]]
    assert types[0] == "run_created"
    assert types[-1] == "run_succeeded"
    assert "step_succeeded" in types
    assert logs["total"] == len(types)
    assert [event["seq"] for event in logs["items"]] == sorted(event["seq"] for event in logs["items"])
    tail = await (await stack.client.get(f"{RUNS}/{run['id']}/logs?offset={len(types) - 1}")).json()
    assert [event["type"] for event in tail["items"]] == ["run_succeeded"]

    await problem(await stack.client.post(f"{RUNS}/{run['id']}/cancel"), 409)
    await problem(await stack.client.post(f"{RUNS}/{run['id']}/retry"), 409)


async def test_cancel_then_retry_a_pending_run(api_client: Client, workflow: dict[str, Any]) -> None:
    run = await (await execute(api_client, workflow["id"], {"input": {}})).json()
    item = f"{RUNS}/{run['id']}"
    await problem(await api_client.post(f"{item}/retry"), 409)

    response = await api_client.post(f"{item}/cancel", headers={"X-User-ID": "ops"})
    assert response.status == 202
    cancelled = await response.json()
    assert (cancelled["status"], cancelled["cancelled_by"]) == ("cancelled", "ops")
    assert cancelled["cancelled_at"] is not None
    again = await api_client.post(f"{item}/cancel")
    assert again.status == 202
    assert await again.json() == cancelled
    steps = (await (await api_client.get(f"{item}/steps")).json())["items"]
    assert {s["status"] for s in steps} == {"cancelled"}

    retried = await api_client.post(f"{item}/retry")
    assert retried.status == 202
    body = await retried.json()
    assert (body["status"], body["attempt"], body["cancelled_at"]) == ("pending", 2, None)
    assert retried.headers["Location"] == item


async def test_retry_of_a_failed_run_and_from_step(stack: ApiStack, workflow: dict[str, Any]) -> None:
    calls: list[str] = []

    def flaky(call: AgentCall) -> Any:
        calls.append(call.step_id)
        if call.step_id == "second" and calls.count("second") == 1:
            raise AgentFailure(400, "bad request")
        return {"echo": call.input}

    stack.invoker.register("writer", flaky)
    run = await (await execute(stack.client, workflow["id"], {"input": {"n": 1}})).json()
    item = f"{RUNS}/{run['id']}"
    await stack.drive(run["id"])
    failed = await (await stack.client.get(item)).json()
    assert failed["status"] == "failed"
    assert failed["error"]["step_id"] == "second"
    second = (await (await stack.client.get(f"{item}/steps")).json())["items"][1]
    assert second["error"]["http_status"] == 400

    await error_at(await stack.client.post(f"{item}/retry", json={"from_step": "nope"}), ["from_step"])
    await error_at(await stack.client.post(f"{item}/retry", json={"from_step": 1}), ["from_step"])
    await error_at(await stack.client.post(f"{item}/retry", json={"step": "first"}), ["step"])
    response = await stack.client.post(f"{item}/retry", json={"from_step": "first"})
    assert response.status == 202
    assert (await response.json())["attempt"] == 2
    await stack.drive(run["id"])
    assert (await (await stack.client.get(item)).json())["status"] == "succeeded"
    assert calls == ["first", "second", "first", "second"]


async def test_list_filters_and_sorts(api_client: Client, workflow: dict[str, Any]) -> None:
    other = await save_workflow(api_client, "other", step("x"))
    by_ops = await (await execute(api_client, workflow["id"], {"input": {}}, headers={"X-User-ID": "ops"})).json()
    cancelled = await (await execute(api_client, workflow["id"], {"input": {}})).json()
    await api_client.post(f"{RUNS}/{cancelled['id']}/cancel")
    elsewhere = await (await execute(api_client, other["id"], {"input": {}})).json()

    async def ids(query: str) -> list[str]:
        return [run["id"] for run in (await (await api_client.get(f"{RUNS}?{query}")).json())["items"]]

    assert await ids("") == [elsewhere["id"], cancelled["id"], by_ops["id"]]
    assert await ids("sort=created_at") == [by_ops["id"], cancelled["id"], elsewhere["id"]]
    assert await ids(f"workflow_id={workflow['id']}") == [cancelled["id"], by_ops["id"]]
    assert await ids(f"workflow_id={workflow['id'].upper()}") == [cancelled["id"], by_ops["id"]]
    assert await ids("status=cancelled") == [cancelled["id"]]
    assert await ids("status=cancelled&status=pending") == [elsewhere["id"], cancelled["id"], by_ops["id"]]
    assert await ids("triggered_by=ops") == [by_ops["id"]]
    created = by_ops["created_at"]
    assert await ids(f"created_before={created}") == []
    assert await ids(f"created_after={created}&sort=created_at") == [by_ops["id"], cancelled["id"], elsewhere["id"]]
    assert await ids(f"created_after={elsewhere['created_at']}") == [elsewhere["id"]]
    assert len(await ids("sort=-finished_at&limit=1")) == 1


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("status=done", "status"),
        ("workflow_id=123", "workflow_id"),
        ("created_after=yesterday", "created_after"),
        ("created_before=2030-13-01T00:00:00Z", "created_before"),
        ("sort=name", "sort"),
        ("sort=--created_at", "sort"),
    ],
)
async def test_bad_filters_are_a_422_naming_the_parameter(api_client: Client, query: str, name: str) -> None:
    await error_at(await api_client.get(f"{RUNS}?{query}"), ["query", name])


@pytest.mark.parametrize("suffix", ["", "/steps", "/logs", "/events"])
@pytest.mark.parametrize("run_id", [UNKNOWN_ID, "123", "not-a-uuid"])
async def test_unknown_and_malformed_run_ids_are_404(api_client: Client, run_id: str, suffix: str) -> None:
    await problem(await api_client.get(f"{RUNS}/{run_id}{suffix}"), 404)


@pytest.mark.parametrize("command", ["cancel", "retry"])
async def test_commands_on_unknown_runs_are_404(api_client: Client, command: str) -> None:
    await problem(await api_client.post(f"{RUNS}/{UNKNOWN_ID}/{command}"), 404)
