"""Contract §4, retry (redrive): what runs again, with which run attempt and Idempotency-Key."""

from __future__ import annotations

import pytest

from e2e.execution.recording_agent import RecordingAgent, answering, in_first_run_attempt, sleeping
from e2e.execution.service_api import RUNS, Json, Wf, body_of, eventually, step, types_of


@pytest.fixture
async def flaky(wf: Wf, recording_agent: RecordingAgent) -> Wf:
    """`wf` with agents on the recording agent: `steady` echoes; in a run's first attempt `flaky` fails (400)
    and `stuck` sleeps 30 s, in later attempts both echo."""
    await wf.agent(recording_agent.url("/steady"), "steady")
    await wf.agent(recording_agent.on("/flaky", in_first_run_attempt(answering(400, "not now"))), "flaky")
    await wf.agent(recording_agent.on("/stuck", in_first_run_attempt(sleeping(30))), "stuck")
    return wf


async def failed_run(wf: Wf, *steps: Json) -> Json:
    run = await wf.wait((await wf.start(*steps))["id"])
    assert run["status"] == "failed", run
    return run


def run_attempts_called(recording_agent: RecordingAgent, run_id: str) -> dict[str, list[int]]:
    """For each step called, the run attempt of each call, read from its `{run_id}:{step_id}:{attempt}` key."""
    called: dict[str, list[int]] = {}
    for call in recording_agent.exchanges():
        run, step_id, attempt = str(call.idempotency_key).split(":")
        assert (run, step_id) == (run_id, call.step_id)
        called.setdefault(step_id, []).append(int(attempt))
    return called


async def test_a_retry_calls_again_only_the_steps_that_did_not_succeed(
    flaky: Wf, recording_agent: RecordingAgent
) -> None:
    run = await failed_run(
        flaky,
        step("fetch", "steady", input={"order": 1}),
        step("charge", "flaky", "fetch"),
        step("ship", "steady", "charge"),
        step("audit", "steady"),
    )
    assert run["error"]["step_id"] == "charge"
    first_steps = await flaky.steps(run["id"])
    assert first_steps["ship"]["status"] == "cancelled"

    response = await flaky.retry(run["id"])
    retried = await body_of(response, 202)
    assert (retried["status"], retried["attempt"], retried["error"]) == ("pending", 2, None)
    assert response.headers["Location"] == f"{RUNS}/{run['id']}"
    done = await flaky.wait(run["id"])
    assert (done["status"], done["attempt"]) == ("succeeded", 2)

    called = run_attempts_called(recording_agent, run["id"])
    assert called == {"fetch": [1], "audit": [1], "charge": [1, 2], "ship": [2]}
    steps = await flaky.steps(run["id"])
    for kept in ("fetch", "audit"):
        assert steps[kept] == first_steps[kept]
    assert steps["charge"]["status"] == steps["ship"]["status"] == "succeeded"
    assert ("run_retried", None) in types_of(await flaky.logs(run["id"]))


async def test_a_retried_run_calls_agents_with_the_request_id_of_the_retry(
    flaky: Wf, recording_agent: RecordingAgent
) -> None:
    run = await failed_run(flaky, step("charge", "flaky"), step("ship", "steady", "charge"))
    await body_of(await flaky.retry(run["id"], headers={"X-Request-ID": "redrive-1234"}), 202)
    assert (await flaky.wait(run["id"]))["status"] == "succeeded"
    [_, again] = recording_agent.exchanges("charge")
    assert again.headers["x-request-id"] == "redrive-1234"
    assert recording_agent.one("ship").headers["x-request-id"] == "redrive-1234"


async def test_from_step_also_reruns_that_step_and_everything_downstream(
    flaky: Wf, recording_agent: RecordingAgent
) -> None:
    run = await failed_run(
        flaky,
        step("fetch", "steady"),
        step("enrich", "steady", "fetch"),
        step("score", "steady", "enrich"),
        step("charge", "flaky", "score"),
        step("audit", "steady", "fetch"),
    )
    problem = await body_of(await flaky.retry(run["id"], {"from_step": "nowhere"}), 422)
    assert [error["loc"] for error in problem["errors"]] == [["from_step"]]

    await body_of(await flaky.retry(run["id"], {"from_step": "enrich"}), 202)
    assert (await flaky.wait(run["id"]))["status"] == "succeeded"
    called = run_attempts_called(recording_agent, run["id"])
    assert called == {"fetch": [1], "audit": [1], "enrich": [1, 2], "score": [1, 2], "charge": [1, 2]}


async def test_a_retry_of_a_cancelled_run_runs_its_cancelled_steps_again(
    flaky: Wf, recording_agent: RecordingAgent
) -> None:
    run = await flaky.start(step("fetch", "steady"), step("work", "stuck", "fetch"), step("ship", "steady", "work"))
    await eventually(lambda: flaky.steps(run["id"]), lambda steps: steps["work"]["status"] == "running")
    await body_of(await flaky.cancel(run["id"]), 202)
    assert (await flaky.wait(run["id"]))["status"] == "cancelled"

    await body_of(await flaky.retry(run["id"]), 202)
    assert (await flaky.wait(run["id"]))["status"] == "succeeded"
    assert run_attempts_called(recording_agent, run["id"]) == {"fetch": [1], "work": [1, 2], "ship": [2]}
