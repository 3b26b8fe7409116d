"""Contract §2: which failed attempts are retried, how often, and what the agent and the run record show."""

from __future__ import annotations

from datetime import datetime

from aiohttp.test_utils import unused_port

from e2e.execution.recording_agent import RecordingAgent, answering
from e2e.execution.service_api import Wf, attempts_of, calls_of, step
from fixtures.agents import DemoAgent

QUICK = {"initial_backoff_ms": 10, "max_backoff_ms": 20}


def failing(status: int, times: int, **more: object) -> dict[str, object]:
    """The input that makes the demo agent's /fail answer `status` the first `times` calls of a step."""
    return {"status": status, "times": times, **more}


async def test_retryable_statuses_are_retried_with_one_idempotency_key_until_they_succeed(
    wf: Wf, demo_agent: DemoAgent
) -> None:
    outcome = await wf.finish(
        step("five_hundred", "fail", input=failing(500, 2)), step("unavailable", "fail", input=failing(503, 2))
    )
    assert outcome.run["status"] == "succeeded", outcome.run
    for name, status in (("five_hundred", 500), ("unavailable", 503)):
        failed_twice = [(1, status, "agent_error"), (2, status, "agent_error"), (3, 200, None)]
        assert attempts_of(outcome.steps[name]) == failed_twice
        assert outcome.steps[name]["attempts"][0]["error"]["http_status"] == status
        calls = calls_of(demo_agent, name)
        assert [call.body["attempt"] for call in calls] == [1, 2, 3]
        assert {call.idempotency_key for call in calls} == {f"{outcome.run['id']}:{name}:1"}
        assert len({call.request_id for call in calls}) == 1


async def test_a_retryable_status_fails_the_run_once_the_attempts_run_out(wf: Wf, demo_agent: DemoAgent) -> None:
    outcome = await wf.finish(step("stubborn", "fail", input=failing(502, 10)))
    assert attempts_of(outcome.steps["stubborn"]) == [(n, 502, "agent_error") for n in (1, 2, 3)]
    assert len(calls_of(demo_agent, "stubborn")) == 3
    assert outcome.steps["stubborn"]["status"] == "failed"
    assert outcome.steps["stubborn"]["error"]["http_status"] == 502
    assert outcome.run["status"] == "failed"
    assert outcome.run["error"]["code"] == "agent_error"
    assert outcome.run["error"]["step_id"] == "stubborn"


async def test_other_answers_fail_the_step_at_once_with_the_status_and_a_body_excerpt(
    wf: Wf, demo_agent: DemoAgent, recording_agent: RecordingAgent
) -> None:
    await wf.agent(recording_agent.on("/verbose", answering(400, "y" * 5000)), "verbose")
    await wf.agent(demo_agent.url("/redirect"), "redirect")
    outcome = await wf.finish(
        step("unprocessable", "fail", input=failing(422, 5), on_failure="continue"),
        step("verbose", "verbose", on_failure="continue"),
        step("redirect", "redirect", input={"location": demo_agent.url("/echo")}, on_failure="continue"),
    )
    unprocessable = outcome.steps["unprocessable"]
    assert attempts_of(unprocessable) == [(1, 422, "agent_error")]
    assert unprocessable["status"] == "failed"
    assert unprocessable["error"]["code"] == "agent_error"
    assert unprocessable["error"]["http_status"] == 422
    assert "failing as asked (1 of 5)" in unprocessable["error"]["body"]
    assert len(calls_of(demo_agent, "unprocessable")) == 1

    verbose = outcome.steps["verbose"]
    assert attempts_of(verbose) == [(1, 400, "agent_error")]
    assert verbose["error"]["body"] == "y" * 2048
    assert len(recording_agent.exchanges("verbose")) == 1

    # Redirects are not followed: the agent's answer is the step's failure.
    assert attempts_of(outcome.steps["redirect"]) == [(1, 302, "agent_error")]
    assert demo_agent.calls("/echo") == []


async def test_a_timeout_is_retried_and_each_timed_out_call_is_aborted(wf: Wf, demo_agent: DemoAgent) -> None:
    outcome = await wf.finish(
        step("slow", "sleep", input={"seconds": 5}, timeout_ms=200, retry={"max_attempts": 2, **QUICK})
    )
    slow = outcome.steps["slow"]
    assert attempts_of(slow) == [(1, None, "timeout"), (2, None, "timeout")]
    assert slow["status"] == "failed"
    assert slow["error"]["code"] == "timeout"
    calls = await demo_agent.wait_for_calls(lambda calls: sum(call.aborted for call in calls) == 2)
    assert len(calls) == 2
    assert {call.idempotency_key for call in calls} == {f"{outcome.run['id']}:slow:1"}


async def test_a_429_is_retried_no_sooner_than_its_retry_after(wf: Wf, demo_agent: DemoAgent) -> None:
    outcome = await wf.finish(
        step("limited", "fail", input=failing(429, 1, retry_after=1), retry={"max_backoff_ms": 5000})
    )
    limited = outcome.steps["limited"]
    assert attempts_of(limited) == [(1, 429, "agent_error"), (2, 200, None)]
    first, second = limited["attempts"]
    waited = datetime.fromisoformat(second["started_at"]) - datetime.fromisoformat(first["finished_at"])
    assert waited.total_seconds() >= 0.95, waited
    assert len(calls_of(demo_agent, "limited")) == 2


async def test_a_steps_retry_settings_win_over_its_agents(wf: Wf, demo_agent: DemoAgent) -> None:
    await wf.agent(demo_agent.url("/fail"), "fail_once", retry_config={"max_attempts": 1})
    outcome = await wf.finish(
        step("more", "fail_once", input=failing(500, 2), retry={"max_attempts": 3, **QUICK}, on_failure="continue"),
        step("fewer", "fail", input=failing(500, 2), retry={"max_attempts": 1}, on_failure="continue"),
        step("listed", "fail", input=failing(409, 1), retry={"retry_on_status": [409]}, on_failure="continue"),
        step("unlisted", "fail", input=failing(500, 1), retry={"retry_on_status": [409]}, on_failure="continue"),
    )
    expected = {
        "more": ("succeeded", 3),
        "fewer": ("failed", 1),
        "listed": ("succeeded", 2),
        "unlisted": ("failed", 1),
    }
    seen = {
        name: (outcome.steps[name]["status"], len(calls_of(demo_agent, name)))
        for name in ("more", "fewer", "listed", "unlisted")
    }
    assert seen == expected


async def test_a_connection_error_is_retried(wf: Wf) -> None:
    await wf.agent(f"http://127.0.0.1:{unused_port()}/nobody", "nobody")
    outcome = await wf.finish(step("unreachable", "nobody"))
    unreachable = outcome.steps["unreachable"]
    assert attempts_of(unreachable) == [(n, None, "connection_error") for n in (1, 2, 3)]
    assert unreachable["error"]["code"] == "connection_error"
    assert outcome.run["error"]["code"] == "connection_error"
