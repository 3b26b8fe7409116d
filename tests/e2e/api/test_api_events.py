"""`GET /api/v1/runs/{id}/events`: the event log as server-sent events, live until the run ends."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import unused_port

from e2e.api.calls import execute, register_agent, save_workflow, step
from e2e.api.stack import ApiStack


@pytest.fixture
async def run(stack: ApiStack) -> dict[str, Any]:
    """A pending run of a two-step workflow whose agent answers at once."""
    await register_agent(stack.client, "writer")
    stack.invoker.register("writer", lambda call: {"ok": True})
    workflow = await save_workflow(stack.client, "streamed", step("a"), step("b", depends_on=["a"]))
    return dict(await (await execute(stack.client, workflow["id"], {"input": {}})).json())


async def read_events(response: ClientResponse) -> list[dict[str, Any]]:
    """Every event of the stream until the server ends it."""
    events: list[dict[str, Any]] = []
    for block in (await response.text()).split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            events.append({"id": fields["id"], "event": fields["event"], "data": json.loads(fields["data"])})
    return events


async def test_a_finished_run_replays_its_events_and_ends(stack: ApiStack, run: dict[str, Any]) -> None:
    await stack.drive(run["id"])
    response = await stack.client.get(f"/api/v1/runs/{run['id']}/events", headers={"X-Request-ID": "sse-1"})
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    assert response.headers["X-Request-ID"] == "sse-1"
    events = await asyncio.wait_for(read_events(response), 5)
    logged = (await (await stack.client.get(f"/api/v1/runs/{run['id']}/logs?limit=100")).json())["items"]
    assert [event["data"] for event in events] == logged
    assert [event["event"] for event in events] == [entry["type"] for entry in logged]
    assert [event["id"] for event in events] == [str(entry["seq"]) for entry in logged]
    assert events[-1]["event"] == "run_succeeded"


async def test_a_live_run_is_followed_until_its_final_event(stack: ApiStack, run: dict[str, Any]) -> None:
    response = await stack.client.get(f"/api/v1/runs/{run['id']}/events")
    first = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
    assert b"event: run_created" in first
    await stack.drive(run["id"])
    rest = await asyncio.wait_for(response.content.read(), 5)
    names = [line.removeprefix("event: ") for line in rest.decode().splitlines() if line.startswith("event: ")]
    assert names[0] == "run_started"
    assert names[-1] == "run_succeeded"
    assert names.count("step_succeeded") == 2


async def test_a_cancel_ends_the_stream(stack: ApiStack, run: dict[str, Any]) -> None:
    response = await stack.client.get(f"/api/v1/runs/{run['id']}/events")
    await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
    await stack.client.post(f"/api/v1/runs/{run['id']}/cancel")
    events = await asyncio.wait_for(read_events(response), 5)
    assert [event["event"] for event in events] == ["cancel_requested", "run_cancelled"]


async def test_a_client_resumes_after_its_last_event_id(stack: ApiStack, run: dict[str, Any]) -> None:
    await stack.drive(run["id"])
    events = await read_events(await stack.client.get(f"/api/v1/runs/{run['id']}/events"))
    resumed = await stack.client.get(f"/api/v1/runs/{run['id']}/events", headers={"Last-Event-ID": events[2]["id"]})
    assert await asyncio.wait_for(read_events(resumed), 5) == events[3:]
    at_end = await stack.client.get(f"/api/v1/runs/{run['id']}/events", headers={"Last-Event-ID": events[-1]["id"]})
    assert await asyncio.wait_for(read_events(at_end), 5) == []


async def leave_after_the_first_event(url: str) -> None:
    async with aiohttp.ClientSession() as session, session.get(url, headers={"X-Request-ID": "leaver"}) as response:
        await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
        response.connection.transport.close()  # type: ignore[union-attr]


async def access_logged(caplog: pytest.LogCaptureFixture, *words: str) -> str:
    while True:
        for record in caplog.records:
            if all(word in record.getMessage() for word in words):
                return record.getMessage()
        await asyncio.sleep(0.01)


async def test_the_stream_stops_when_the_client_leaves(
    stack: ApiStack, run: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Whether the server cancels handlers of lost connections (the test server) or not (`wf serve`)."""
    caplog.set_level(logging.INFO, logger="adapters_http.server.access")
    await leave_after_the_first_event(str(stack.client.make_url(f"/api/v1/runs/{run['id']}/events")))
    assert " 499 " in await asyncio.wait_for(access_logged(caplog, "/events", "leaver"), 5)
    caplog.clear()

    runner = web.AppRunner(stack.client.server.app, handler_cancellation=False)  # type: ignore[attr-defined]
    await runner.setup()
    port = unused_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await leave_after_the_first_event(f"http://127.0.0.1:{port}/api/v1/runs/{run['id']}/events")
        assert " 200 " in await asyncio.wait_for(access_logged(caplog, "/events", "leaver"), 5)
    finally:
        await runner.cleanup()
