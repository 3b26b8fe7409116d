"""Contract §3 and §4 at run time: `when` and skips, `on_failure`, and the run's output."""

from __future__ import annotations

from e2e.execution.service_api import Outcome, Wf, body_of, step
from fixtures.agents import DemoAgent


def statuses(outcome: Outcome) -> dict[str, str]:
    return {step_id: step["status"] for step_id, step in outcome.steps.items()}


def called_steps(demo_agent: DemoAgent) -> list[str]:
    return [call.body["step_id"] for call in demo_agent.calls()]


async def test_a_false_when_skips_the_step_and_steps_whose_dependencies_all_skipped(
    wf: Wf, demo_agent: DemoAgent
) -> None:
    outcome = await wf.finish(
        step("classify", "echo", input={"kind": "{{ input.kind }}"}),
        step("refund", "echo", "classify", when="steps.classify.output.kind == 'refund'"),
        step("notify", "echo", "refund"),
        step("archive", "echo", "notify"),
        step("reply", "echo", "classify", "refund", input={"refund": "{{ steps.refund.status }}"}),
        step("answer", "echo", "classify", when="steps.classify.output.kind == 'question'"),
        input={"kind": "question"},
    )
    assert outcome.run["status"] == "succeeded", outcome.run
    assert statuses(outcome) == {
        "classify": "succeeded",
        "refund": "skipped",
        "notify": "skipped",
        "archive": "skipped",
        "reply": "succeeded",
        "answer": "succeeded",
    }
    assert sorted(called_steps(demo_agent)) == ["answer", "classify", "reply"]
    assert outcome.steps["reply"]["output"] == {"refund": "skipped"}
    assert outcome.steps["refund"]["attempts"] == []


async def test_a_failed_step_fails_the_run_and_cancels_the_steps_not_started(wf: Wf, demo_agent: DemoAgent) -> None:
    outcome = await wf.finish(
        step("fetch", "echo"),
        step("charge", "fail", "fetch", input={"status": 402, "times": 5}),
        step("ship", "echo", "charge"),
        step("notify", "echo", "ship"),
    )
    assert outcome.run["status"] == "failed"
    assert outcome.run["error"]["code"] == "agent_error"
    assert outcome.run["error"]["step_id"] == "charge"
    assert outcome.run["error"]["message"]
    assert outcome.run["output"] is None
    assert statuses(outcome) == {"fetch": "succeeded", "charge": "failed", "ship": "cancelled", "notify": "cancelled"}
    assert called_steps(demo_agent) == ["fetch", "charge"]


async def test_continue_lets_dependants_run_and_see_the_failed_status(wf: Wf, demo_agent: DemoAgent) -> None:
    outcome = await wf.finish(
        step("optional", "fail", input={"status": 400, "times": 5}, on_failure="continue"),
        step(
            "next",
            "echo",
            "optional",
            input={"saw": "{{ steps.optional.status }}", "got": "{{ steps.optional.output }}"},
        ),
        step("fallback", "echo", "next", when="steps.optional.status == 'failed'"),
    )
    assert outcome.run["status"] == "succeeded", outcome.run
    assert statuses(outcome) == {"optional": "failed", "next": "succeeded", "fallback": "succeeded"}
    [call] = [call for call in demo_agent.calls("/echo") if call.body["step_id"] == "next"]
    assert call.input == {"saw": "failed", "got": None}


async def test_the_output_template_makes_the_run_output(wf: Wf) -> None:
    outcome = await wf.finish(
        step("shout", "echo", input={"text": "{{ input.name }}"}),
        step("count", "echo", "shout", input={"n": "{{ input.n }}"}),
        input={"name": "Ada", "n": 2},
        output={
            "greeting": "Hello, {{ steps.shout.output.text }}!",
            "n": "{{ steps.count.output.n }}",
            "list": ["{{ steps.shout.status }}", "{{ input.name }}"],
        },
    )
    assert outcome.run["status"] == "succeeded", outcome.run
    assert outcome.run["output"] == {"greeting": "Hello, Ada!", "n": 2, "list": ["succeeded", "Ada"]}


async def test_the_default_output_is_the_outputs_of_the_steps_without_dependants(wf: Wf) -> None:
    outcome = await wf.finish(
        step("root", "echo", input={"r": 1}),
        step("left", "echo", "root", input={"l": 2}),
        step("right", "echo", "root", input={"r": 3}),
        step("alone", "text", input={"text": "solo"}),
    )
    assert outcome.run["status"] == "succeeded", outcome.run
    assert outcome.run["output"] == {"left": {"l": 2}, "right": {"r": 3}, "alone": {"text": "solo"}}


async def test_a_deleted_or_inactive_agent_fails_its_step_with_a_clear_error(wf: Wf, demo_agent: DemoAgent) -> None:
    gone = await wf.agent(demo_agent.url("/echo"), "gone")
    idle = await wf.agent(demo_agent.url("/echo"), "idle")
    workflow = await wf.workflow(step("first", "gone", on_failure="continue"), step("second", "idle"))
    await body_of(await wf.client.delete(f"/api/v1/agents/{gone['id']}"), 204)
    await body_of(await wf.client.put(f"/api/v1/agents/{idle['id']}", json={"status": "inactive"}), 200)

    outcome = await wf.outcome((await body_of(await wf.execute(workflow["id"]), 202))["id"])
    assert statuses(outcome) == {"first": "failed", "second": "failed"}
    for step_id, agent in (("first", "gone"), ("second", "idle")):
        error = outcome.steps[step_id]["error"]
        assert error["code"] == "agent_unavailable"
        assert agent in error["message"]
    assert (outcome.run["status"], outcome.run["error"]["step_id"]) == ("failed", "second")
    assert demo_agent.calls() == []
