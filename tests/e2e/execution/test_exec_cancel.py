"""Contract §4 and §7, cancel: of pending and running runs (aborting in-flight calls), and illegal commands."""

from __future__ import annotations

import asyncio
import contextlib
import time

from adapters_http.demo_agent import RecordedCall
from e2e.execution.service_api import Json, Wf, body_of, eventually, step, types_of
from e2e.execution.serving import Deployment
from fixtures.agents import DemoAgent

# Contract §7: cancelling a running run aborts its in-flight agent calls within 2 seconds.
CANCEL_BOUND_SECONDS = 2.0
OPS = {"X-User-ID": "ops"}


async def assert_cancelled_promptly(wf: Wf, demo_agent: DemoAgent, *run_ids: str) -> list[Json]:
    """Cancel the running runs; their in-flight calls are aborted and the runs cancelled within the bound."""
    started = time.monotonic()
    for response in await asyncio.gather(*(wf.cancel(run_id, headers=OPS) for run_id in run_ids)):
        requested = await body_of(response, 202)
        assert requested["cancel_requested_at"] is not None
        assert requested["cancelled_by"] == "ops"
    cancelled = await asyncio.gather(*(wf.wait(run_id, within=CANCEL_BOUND_SECONDS) for run_id in run_ids))
    await demo_agent.wait_for_calls(lambda calls: all(call.aborted for call in calls if call.path == "/sleep"))
    assert time.monotonic() - started <= CANCEL_BOUND_SECONDS
    for run in cancelled:
        assert run["status"] == "cancelled"
        assert run["cancelled_at"] is not None
        assert run["finished_at"] is not None
    return cancelled


def run_ids(calls: list[RecordedCall]) -> set[str]:
    return {call.body["run_id"] for call in calls}


async def fill_every_slot(wf: Wf, demo_agent: DemoAgent, slots: int) -> tuple[set[str], set[str]]:
    """Start runs of a 30 s step until `slots` of them are at the agent: their ids, and those of the others,
    which wait pending. (With several workers, a run may wait behind a busy worker while another is idle:
    each takes the runs of its own partitions of the runs topic.)"""
    started: set[str] = set()
    while len(run_ids(demo_agent.calls())) < slots:
        run_id = (await wf.start(step("hold", "sleep", input={"seconds": 30})))["id"]
        started.add(run_id)
        await wait_briefly_for_the_call_of(demo_agent, run_id)
    holding = run_ids(demo_agent.calls())
    return holding, started - holding


async def wait_briefly_for_the_call_of(demo_agent: DemoAgent, run_id: str) -> None:
    """Return once the run is at the agent, or after a second: then it waits behind a busy worker."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1.0):
            await demo_agent.wait_for_calls(lambda calls: run_id in run_ids(calls))


async def test_cancel_of_a_running_run_aborts_its_calls_and_starts_no_other_step(wf: Wf, demo_agent: DemoAgent) -> None:
    run = await wf.start(
        step("slow", "sleep", input={"seconds": 30}),
        step("slower", "sleep", input={"seconds": 60}),
        step("after", "echo", "slow", "slower"),
    )
    await demo_agent.wait_for_calls(lambda calls: len(calls) == 2)
    await body_of(await wf.retry(run["id"]), 409)  # a running run cannot be retried

    [cancelled] = await assert_cancelled_promptly(wf, demo_agent, run["id"])
    steps = await wf.steps(run["id"])
    assert {found["status"] for found in steps.values()} == {"cancelled"}
    assert [call.path for call in demo_agent.calls()] == ["/sleep", "/sleep"]
    events = types_of(await wf.logs(run["id"]))
    after_request = events[events.index(("cancel_requested", None)) :]
    assert not [event for event in after_request if event[0] == "step_started"]
    assert events[-1] == ("run_cancelled", None)

    # Cancelling a cancelled run is a no-op.
    again = await body_of(await wf.cancel(run["id"]), 202)
    assert again == cancelled
    assert types_of(await wf.logs(run["id"])) == events


async def test_cancel_during_a_retry_backoff_stops_the_run(wf: Wf, demo_agent: DemoAgent) -> None:
    run = await wf.start(
        step("limited", "fail", input={"status": 429, "times": 5, "retry_after": 30}, retry={"max_backoff_ms": 60000})
    )
    await eventually(lambda: wf.logs(run["id"]), lambda events: ("retry_scheduled", "limited") in types_of(events))
    await assert_cancelled_promptly(wf, demo_agent, run["id"])
    assert len(demo_agent.calls()) == 1


async def test_cancel_of_a_pending_run_cancels_it_at_once(
    narrow_wf: Wf, deployment: Deployment, demo_agent: DemoAgent
) -> None:
    wf = narrow_wf
    holders, queued = await fill_every_slot(wf, demo_agent, deployment.workers)
    waiting = await wf.start(step("later", "echo"))
    assert (await wf.run(waiting["id"]))["status"] == "pending"
    await body_of(await wf.retry(waiting["id"]), 409)  # a pending run cannot be retried

    cancelled = await body_of(await wf.cancel(waiting["id"], headers=OPS), 202)
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_by"] == "ops"
    assert cancelled["cancelled_at"] is not None
    assert cancelled["finished_at"] is not None
    assert await wf.run(waiting["id"]) == cancelled
    assert [found["status"] for found in (await wf.steps(waiting["id"])).values()] == ["cancelled"]

    # The queued holders go first, so that no slot the running ones free takes them.
    for run_id in queued:
        assert (await body_of(await wf.cancel(run_id), 202))["status"] == "cancelled"
    await assert_cancelled_promptly(wf, demo_agent, *holders)
    # The worker slots are free again: a later run runs, and the cancelled ones never did.
    later = await wf.start(step("next", "echo"))
    assert (await wf.wait(later["id"]))["status"] == "succeeded"
    called = [call.body["run_id"] for call in demo_agent.calls()]
    assert (set(called[:-1]), called[-1]) == (holders, later["id"])
    assert (await wf.run(waiting["id"]))["status"] == "cancelled"


async def test_commands_on_finished_runs_that_the_contract_forbids_are_409(wf: Wf) -> None:
    succeeded = await wf.wait((await wf.start(step("only", "echo")))["id"])
    failed = await wf.wait((await wf.start(step("only", "fail", input={"status": 400})))["id"])
    assert (succeeded["status"], failed["status"]) == ("succeeded", "failed")
    for response in (
        await wf.retry(succeeded["id"]),
        await wf.cancel(succeeded["id"]),
        await wf.cancel(failed["id"]),
    ):
        problem = await body_of(response, 409)
        assert response.content_type == "application/problem+json"
        assert problem["status"] == 409
    assert await wf.run(succeeded["id"]) == succeeded
    assert await wf.run(failed["id"]) == failed
