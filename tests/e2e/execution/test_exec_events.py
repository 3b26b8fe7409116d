"""Contract §4: a run's event log (`/logs`) and its live stream (`/events`), from a run with real calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from e2e.execution.service_api import RUNS, Json, Wf, step, types_of


async def stream(wf: Wf, run_id: str, headers: Mapping[str, str] | None = None) -> list[Json]:
    """Every event `/events` sends, read until the server ends the stream."""
    async with asyncio.timeout(15):
        response = await wf.client.get(f"{RUNS}/{run_id}/events", headers=headers)
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        text = await response.text()
    events: list[Json] = []
    for block in filter(None, text.split("\n\n")):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        data = json.loads(fields["data"])
        assert (fields["id"], fields["event"]) == (str(data["seq"]), data["type"])
        events.append(data)
    return events


async def test_the_event_log_tells_the_run_in_order(wf: Wf) -> None:
    outcome = await wf.finish(step("flaky", "fail", input={"status": 503, "times": 1}), step("last", "echo", "flaky"))
    assert outcome.run["status"] == "succeeded", outcome.run
    events = await wf.logs(outcome.run["id"])
    assert types_of(events) == [
        ("run_created", None),
        ("run_started", None),
        ("step_started", "flaky"),
        ("attempt_failed", "flaky"),
        ("retry_scheduled", "flaky"),
        ("step_succeeded", "flaky"),
        ("step_started", "last"),
        ("step_succeeded", "last"),
        ("run_succeeded", None),
    ]
    seqs = [event["seq"] for event in events]
    assert seqs == sorted(set(seqs))
    times = [event["at"] for event in events]
    assert times == sorted(times)
    failed, scheduled = events[3], events[4]
    assert failed["data"]["http_status"] == 503
    assert failed["data"]["attempt"] == 1
    assert scheduled["data"]["attempt"] == 2


async def test_the_event_stream_follows_a_live_run_and_ends_with_it(wf: Wf) -> None:
    run = await wf.start(step("nap", "sleep", input={"seconds": 0.3}), step("last", "echo", "nap"))
    live = await stream(wf, run["id"])
    assert (await wf.run(run["id"]))["status"] == "succeeded"
    logged = await wf.logs(run["id"])
    assert live == logged
    assert live[-1]["type"] == "run_succeeded"

    # Once the run is over, the stream replays the log and ends; a client resumes after its last event id.
    assert await stream(wf, run["id"]) == logged
    middle = logged[len(logged) // 2]["seq"]
    assert await stream(wf, run["id"], {"Last-Event-ID": str(middle)}) == [e for e in logged if e["seq"] > middle]
