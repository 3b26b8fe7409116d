"""`wfapp.testing`: what a user's own test of their workflow looks like."""

from __future__ import annotations

from typing import Any

from wfapp.testing import AgentCall, AgentFailure, WorkflowTestHarness

TRIAGE = {
    "name": "triage",
    "steps": [
        {"id": "classify", "agent": "classifier", "input": {"text": "{{ input.ticket.body }}"}},
        {
            "id": "refund",
            "agent": "refunds",
            "depends_on": ["classify"],
            "when": "steps.classify.output.kind == 'refund'",
            "input": {"ticket": "{{ input.ticket }}"},
        },
    ],
    "output": {"refunded": "{{ steps.refund.output.id }}"},
}


async def test_a_workflow_runs_on_fake_agents() -> None:
    async with WorkflowTestHarness() as wf:
        await wf.agent("classifier", lambda call: {"kind": "refund"})
        await wf.agent("refunds", lambda call: {"id": call.input["ticket"]["id"]})
        result = await wf.run(TRIAGE, input={"ticket": {"id": 7, "body": "broken"}})
    assert result.status == "succeeded"
    assert result.output == {"refunded": 7}
    assert result.steps["classify"].input == {"text": "broken"}
    assert wf.calls("classifier") == 1


async def test_failures_are_retried_on_a_virtual_clock() -> None:
    answers: list[Any] = [AgentFailure(503), AgentFailure(503), {"kind": "question"}]

    def flaky(call: AgentCall) -> Any:
        answer = answers.pop(0)
        if isinstance(answer, AgentFailure):
            raise answer
        return answer

    async with WorkflowTestHarness() as wf:
        await wf.agent("classifier", flaky, retry_config={"max_attempts": 3, "initial_backoff_ms": 20_000})
        await wf.agent("refunds", lambda call: {"id": 1})
        started = wf.clock.monotonic()
        result = await wf.run(TRIAGE, input={"ticket": {"id": 1, "body": "?"}})
    assert result.status == "succeeded"
    assert result.steps["refund"].status == "skipped"
    assert len(result.steps["classify"].attempts) == 3
    assert wf.clock.monotonic() > started


async def test_a_failed_run_is_redriven_without_calling_succeeded_steps_again() -> None:
    async with WorkflowTestHarness() as wf:
        await wf.agent("classifier", lambda call: {"kind": "refund"})
        outcomes = [AgentFailure(400, "bad ticket"), {"id": 9}]

        def refunds(call: AgentCall) -> Any:
            outcome = outcomes.pop(0)
            if isinstance(outcome, AgentFailure):
                raise outcome
            return outcome

        await wf.agent("refunds", refunds)
        failed = await wf.run(TRIAGE, input={"ticket": {"id": 9, "body": "x"}})
        assert failed.status == "failed"
        assert failed.run.error is not None
        assert failed.run.error.step_id == "refund"
        retried = await wf.retry(failed)
    assert retried.status == "succeeded"
    assert retried.run.attempt == 2
    assert wf.calls("classifier") == 1
