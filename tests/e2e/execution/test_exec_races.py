"""Contract §7: concurrent commands on one run are serialised, and what they leave behind is consistent."""

from __future__ import annotations

import asyncio
import collections

from e2e.execution.recording_agent import RecordingAgent, answering, in_first_run_attempt, sleeping
from e2e.execution.service_api import Json, Wf, body_of, eventually, step, types_of
from fixtures.agents import DemoAgent

ROUNDS = 8
CONCURRENT_RETRIES = 5


async def failing_run(wf: Wf) -> Json:
    """A finished, failed run of one step that always fails at once."""
    run = await wf.wait((await wf.start(step("doomed", "fail", input={"status": 400, "times": 1000})))["id"])
    assert run["status"] == "failed", run
    return run


async def test_retry_and_cancel_at_once_are_serialised(wf: Wf, demo_agent: DemoAgent) -> None:
    run = await failing_run(wf)
    for round_number in range(1, ROUNDS + 1):
        before = await wf.run(run["id"])
        # Which is sent first alternates, so that both orders happen even where the database serialises them.
        if round_number % 2:
            retry, cancel = await asyncio.gather(wf.retry(run["id"]), wf.cancel(run["id"]))
        else:
            cancel, retry = await asyncio.gather(wf.cancel(run["id"]), wf.retry(run["id"]))
        # The retry is legal whichever comes first: a finished run is failed or cancelled.
        retried = await body_of(retry, 202)
        assert retried["attempt"] == before["attempt"] + 1 == round_number + 1
        after = await wf.wait(run["id"])
        assert after["attempt"] == retried["attempt"]
        if cancel.status == 409:
            # The cancel found the run failed: before the retry, or once the retried attempt failed again.
            assert after["status"] == "failed", after
            continue
        cancelled = await body_of(cancel, 202)
        if cancelled["attempt"] == before["attempt"]:
            # The cancel came first, on a cancelled run: a no-op; the retried run failed again.
            assert before["status"] == "cancelled"
            assert after["status"] == "failed", after
        else:
            # The retry came first: the cancel stopped the new attempt.
            assert cancelled["attempt"] == retried["attempt"]
            assert after["status"] == "cancelled", after
    events = types_of(await wf.logs(run["id"]))
    assert events.count(("run_retried", None)) == ROUNDS
    # No run attempt called the agent more than once: its one step fails without retries.
    keys = [call.idempotency_key for call in demo_agent.calls()]
    assert len(keys) == len(set(keys)) <= ROUNDS + 1


async def test_concurrent_retries_make_exactly_one_new_attempt(wf: Wf, recording_agent: RecordingAgent) -> None:
    # The new attempt stays running, so that every retry but the first finds a running run, however late it comes.
    await wf.agent(
        recording_agent.on("/doomed", in_first_run_attempt(answering(400, "not now"), later=sleeping(30))), "doomed"
    )
    run = await wf.wait((await wf.start(step("doomed", "doomed")))["id"])
    assert run["status"] == "failed", run
    responses = await asyncio.gather(*(wf.retry(run["id"]) for _ in range(CONCURRENT_RETRIES)))
    assert collections.Counter(response.status for response in responses) == {202: 1, 409: CONCURRENT_RETRIES - 1}
    await eventually(lambda: wf.run(run["id"]), lambda current: current["status"] == "running")
    await body_of(await wf.cancel(run["id"]), 202)
    after = await wf.wait(run["id"])
    assert (after["status"], after["attempt"]) == ("cancelled", 2)
    assert [call.idempotency_key for call in recording_agent.exchanges()] == [f"{run['id']}:doomed:{n}" for n in (1, 2)]
    assert types_of(await wf.logs(run["id"])).count(("run_retried", None)) == 1
