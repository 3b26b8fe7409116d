"""RunEngine.execute on the in-memory adapters: scheduling, skips, failures, retries and outputs."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest

from adapters_memory.agents import AgentFailure
from unit.agents_in_process import Flaky, Gate
from unit.definitions import definition, step
from unit.harness import ADA, Harness
from wfcore.domain.agents import AgentStatus, RetryPolicy
from wfcore.domain.events import EventType
from wfcore.domain.runs import RunError, RunStatus, StepStatus
from wfcore.domain.workflows import DefinitionLimits, OnFailure, StepRetry
from wfcore.ports.agents import AgentCall
from wfcore.use_cases.agents import UpdateAgent
from wfcore.use_cases.execution import ExecuteWorkflow
from wfcore.use_cases.workflows import SaveWorkflow


def upper(call: AgentCall) -> dict[str, str]:
    return {"text": call.input["text"].upper()}


async def test_a_linear_run_passes_outputs_along_and_succeeds(harness: Harness) -> None:
    await harness.agent("upper", upper)
    await harness.agent("echo")
    saved = await harness.workflow(
        step("a", "upper", input={"text": "{{ input.text }}"}),
        step("b", "upper", "a", input={"text": "{{ steps.a.output.text }} and {{ input.text }}"}),
        step("c", "echo", "b", input="{{ steps.b.output }}"),
    )
    run = (await harness.execute(ExecuteWorkflow(saved.workflow_id, {"text": "hi"}, actor=ADA))).run

    finished = await harness.engine().execute(run.id)

    assert finished is not None
    assert (finished.status, finished.output, finished.error) == (
        RunStatus.SUCCEEDED,
        {"c": {"text": "HI AND HI"}},
        None,
    )
    assert finished.started_at is not None
    assert finished.finished_at is not None
    steps = await harness.steps(run.id)
    assert {s.step_id: s.status for s in steps.values()} == dict.fromkeys("abc", StepStatus.SUCCEEDED)
    assert steps["b"].input == {"text": "HI and hi"}
    assert [call.step_id for call in harness.invoker.calls] == ["a", "b", "c"]
    first = harness.invoker.calls[0]
    assert (first.attempt, first.idempotency_key, first.request_id) == (1, f"{run.id}:a:1", "req-1")
    assert first.body() == {
        "run_id": run.id,
        "step_id": "a",
        "attempt": 1,
        "workflow": {"id": saved.workflow_id, "name": "wf", "version": 1},
        "input": {"text": "hi"},
    }
    assert await harness.event_types(run.id) == [
        EventType.RUN_CREATED,
        EventType.RUN_STARTED,
        *[EventType.STEP_STARTED, EventType.STEP_SUCCEEDED] * 3,
        EventType.RUN_SUCCEEDED,
    ]


async def test_independent_steps_run_at_the_same_time(harness: Harness) -> None:
    everyone_started = asyncio.Barrier(3)

    async def meet(call: AgentCall) -> str:
        await everyone_started.wait()
        return call.step_id

    await harness.agent("meet", meet)
    await harness.agent("echo")
    saved = await harness.workflow(
        step("a"),
        step("b", "meet", "a"),
        step("c", "meet", "a"),
        step("d", "meet", "a"),
        step("e", "echo", "b", "c", "d"),
    )

    async with asyncio.timeout(5):
        finished = await harness.run_to_end(saved.workflow_id)

    assert finished.status is RunStatus.SUCCEEDED
    assert [call.step_id for call in harness.invoker.calls] == ["a", "b", "c", "d", "e"]


async def test_parallel_steps_are_capped_by_the_engine_setting(harness: Harness) -> None:
    running: list[str] = []
    peak = 0

    async def count(call: AgentCall) -> None:
        nonlocal peak
        running.append(call.step_id)
        peak = max(peak, len(running))
        await harness.clock.sleep(1)
        running.remove(call.step_id)

    await harness.agent("count", count)
    saved = await harness.workflow(*(step(f"s{index}", "count") for index in range(5)))
    run = await harness.start(saved.workflow_id)

    finished = await harness.engine(max_parallel_steps=2).execute(run.id)

    assert finished is not None
    assert finished.status is RunStatus.SUCCEEDED
    assert peak == 2


async def test_a_falsy_when_skips_the_step_and_skips_propagate(harness: Harness) -> None:
    await harness.agent("decide", lambda call: {"go": False, "zero": 0})
    await harness.agent("echo")
    saved = await harness.workflow(
        step("a", "decide"),
        step("b", "echo", "a", when="steps.a.output.go"),
        step("c", "echo", "b"),
        step("d", "echo", "b", "a", input="{{ steps.b.status }}"),
        step("e", "echo", "a", when="steps.a.output.zero"),
    )

    finished = await harness.run_to_end(saved.workflow_id)

    steps = await harness.steps(finished.id)
    assert finished.status is RunStatus.SUCCEEDED
    assert {s.step_id: s.status for s in steps.values()} == {
        "a": StepStatus.SUCCEEDED,
        "b": StepStatus.SKIPPED,
        "c": StepStatus.SKIPPED,
        "d": StepStatus.SUCCEEDED,
        "e": StepStatus.SUCCEEDED,
    }
    assert steps["d"].output == "skipped"
    assert [call.step_id for call in harness.invoker.calls] == ["a", "d", "e"]
    assert finished.output == {"c": None, "d": "skipped", "e": None}


async def test_a_failing_step_fails_the_run_and_cancels_the_rest(harness: Harness) -> None:
    gate = Gate()
    await harness.agent("fails", Flaky(failures=1, status=400))
    await harness.agent("waits", gate)
    await harness.agent("echo")
    saved = await harness.workflow(step("slow", "waits"), step("a", "fails"), step("b", "echo", "a"))
    run = await harness.start(saved.workflow_id)

    finished = await harness.engine().execute(run.id)

    assert finished is not None
    assert finished.status is RunStatus.FAILED
    assert finished.error == RunError(code="agent_error", message="failure 1", step_id="a")
    steps = await harness.steps(run.id)
    assert {s.step_id: s.status for s in steps.values()} == {
        "slow": StepStatus.CANCELLED,
        "a": StepStatus.FAILED,
        "b": StepStatus.CANCELLED,
    }
    assert steps["a"].error is not None
    assert steps["a"].error.http_status == 400
    assert gate.aborted == ["slow"]
    assert harness.calls("b") == []


async def test_on_failure_continue_lets_dependants_run_and_see_the_failure(harness: Harness) -> None:
    await harness.agent("fails", Flaky(failures=1, status=400))
    await harness.agent("echo")
    saved = await harness.workflow(
        step("a", "fails", on_failure=OnFailure.CONTINUE),
        step("b", "echo", "a", input={"seen": "{{ steps.a.status }}", "output": "{{ steps.a.output }}"}),
    )

    finished = await harness.run_to_end(saved.workflow_id)

    assert finished.status is RunStatus.SUCCEEDED
    steps = await harness.steps(finished.id)
    assert (steps["a"].status, steps["b"].status) == (StepStatus.FAILED, StepStatus.SUCCEEDED)
    assert steps["b"].input == {"seen": "failed", "output": None}


async def test_retryable_failures_are_retried_with_exponential_backoff(harness: Harness) -> None:
    await harness.agent("flaky", Flaky(failures=2, status=503))
    saved = await harness.workflow(step("a", "flaky", input={"n": 1}))
    before = harness.clock.monotonic()

    finished = await harness.run_to_end(saved.workflow_id)

    assert finished.status is RunStatus.SUCCEEDED
    calls = harness.calls("a")
    assert [call.attempt for call in calls] == [1, 2, 3]
    assert {call.idempotency_key for call in calls} == {f"{finished.id}:a:1"}
    step_a = (await harness.steps(finished.id))["a"]
    assert [(attempt.attempt, attempt.http_status) for attempt in step_a.attempts] == [(1, 503), (2, 503), (3, 200)]
    scheduled = [e.data for e in await harness.queries.events(finished.id) if e.type is EventType.RETRY_SCHEDULED]
    assert scheduled == [{"attempt": 2, "delay_ms": 500.0}, {"attempt": 3, "delay_ms": 1000.0}]
    assert harness.clock.monotonic() - before >= 1.5


@pytest.mark.parametrize(("status", "retried"), [(400, False), (404, False), (501, False), (429, True), (None, True)])
async def test_only_retryable_outcomes_are_retried(harness: Harness, status: int | None, retried: bool) -> None:
    await harness.agent("flaky", Flaky(failures=1, status=status))
    saved = await harness.workflow(step("a", "flaky"))

    finished = await harness.run_to_end(saved.workflow_id)

    assert len(harness.calls("a")) == (2 if retried else 1)
    assert finished.status is (RunStatus.SUCCEEDED if retried else RunStatus.FAILED)


async def test_max_attempts_bounds_the_tries(harness: Harness) -> None:
    await harness.agent("down", Flaky(failures=100, status=503), retry=RetryPolicy(max_attempts=4))
    saved = await harness.workflow(step("a", "down"))

    finished = await harness.run_to_end(saved.workflow_id)

    assert finished.status is RunStatus.FAILED
    assert len(harness.calls("a")) == 4
    error = (await harness.steps(finished.id))["a"].error
    assert error is not None
    assert (error.code, error.http_status, error.message) == ("agent_error", 503, "failure 4")


@pytest.mark.parametrize(
    ("retry", "status", "calls"),
    [
        (StepRetry(max_attempts=2), 503, 2),
        (StepRetry(max_attempts=6), 503, 6),
        (StepRetry(retry_on_status=(418,)), 418, 3),
        (StepRetry(retry_on_status=(418,)), 503, 1),
    ],
)
async def test_a_step_retry_override_wins_over_the_agent_policy(
    harness: Harness, retry: StepRetry, status: int, calls: int
) -> None:
    await harness.agent("down", Flaky(failures=100, status=status), retry=RetryPolicy(max_attempts=3))
    saved = await harness.workflow(step("a", "down", retry=retry))

    await harness.run_to_end(saved.workflow_id)

    assert len(harness.calls("a")) == calls


@pytest.mark.parametrize(("retry_after_ms", "delay_ms"), [(600_000, 2000.0), (1500, 1500.0), (10, 100.0)])
async def test_retry_after_is_honoured_up_to_max_backoff(
    harness: Harness, retry_after_ms: float, delay_ms: float
) -> None:
    flaky = Flaky(failures=1, status=429, retry_after_ms=retry_after_ms)
    await harness.agent("busy", flaky, retry=RetryPolicy(initial_backoff_ms=100, max_backoff_ms=2000))
    saved = await harness.workflow(step("a", "busy"))

    finished = await harness.run_to_end(saved.workflow_id)

    [scheduled] = [e for e in await harness.queries.events(finished.id) if e.type is EventType.RETRY_SCHEDULED]
    assert scheduled.data["delay_ms"] == delay_ms
    assert finished.status is RunStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("change", "state"),
    [("delete", "does not exist (or was deleted)"), ("deactivate", "is inactive")],
)
async def test_an_agent_gone_after_the_workflow_was_saved_fails_its_step(
    harness: Harness, change: str, state: str
) -> None:
    agent = await harness.agent("echo")
    saved = await harness.workflow(step("a"))
    if change == "delete":
        await harness.registry.delete(agent.id, ADA)
    else:
        await harness.registry.update(UpdateAgent(agent.id, {"status": AgentStatus.INACTIVE}))

    finished = await harness.run_to_end(saved.workflow_id)

    assert finished.status is RunStatus.FAILED
    assert finished.error is not None
    assert (finished.error.code, finished.error.step_id) == ("agent_unavailable", "a")
    assert f"agent 'echo' {state}" in finished.error.message
    assert harness.invoker.calls == []


async def test_the_output_template_shapes_the_run_output(harness: Harness) -> None:
    await harness.agent("upper", upper)
    saved = await harness.workflow(
        step("a", "upper", input={"text": "{{ input.text }}"}),
        step("b", "upper", "a", input={"text": "{{ steps.a.output.text }}!"}),
        output={"reply": "{{ steps.b.output.text }}", "n": "{{ input.n }}", "seen": "{{ [steps.a.status] }}"},
    )

    finished = await harness.run_to_end(saved.workflow_id, {"text": "ok", "n": 3})

    assert finished.output == {"reply": "OK!", "n": 3, "seen": ["succeeded"]}


async def test_the_default_output_holds_the_steps_with_no_dependants(harness: Harness) -> None:
    await harness.agent("name", lambda call: call.step_id)
    saved = await harness.workflow(step("a", "name"), step("b", "name", "a"), step("c", "name", "a"))

    finished = await harness.run_to_end(saved.workflow_id)

    assert finished.output == {"b": "b", "c": "c"}


@pytest.mark.parametrize(
    ("fields", "failure"),
    [
        ({"input": "{{ length(input.n) }}"}, ("step", "input_error", "the input template failed")),
        ({"when": "length(input.n) > `1`"}, ("step", "when_error", "the when expression failed")),
    ],
)
async def test_an_expression_that_fails_at_run_time_fails_the_step(
    harness: Harness, fields: dict[str, Any], failure: tuple[str, str, str]
) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a", **fields))

    finished = await harness.run_to_end(saved.workflow_id, {"n": 5})

    error = (await harness.steps(finished.id))["a"].error
    assert error is not None
    assert (error.code, error.message.startswith(failure[2])) == (failure[1], True)
    assert finished.status is RunStatus.FAILED
    assert harness.invoker.calls == []


async def test_an_output_template_that_fails_fails_the_run(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"), output={"size": "{{ length(input.n) }}"})

    finished = await harness.run_to_end(saved.workflow_id, {"n": 5})

    assert finished.status is RunStatus.FAILED
    assert finished.error is not None
    assert finished.error.code == "output_error"
    assert (await harness.steps(finished.id))["a"].status is StepStatus.SUCCEEDED


async def test_a_version_saved_under_a_higher_step_cap_still_runs(harness: Harness) -> None:
    await harness.agent("echo")
    catalog = attrs.evolve(harness.catalog, limits=DefinitionLimits(max_steps=600))
    saved = await catalog.create(SaveWorkflow(definition(*(step(f"s{index}") for index in range(501))), {}))

    finished = await harness.run_to_end(saved.workflow_id)

    assert finished.status is RunStatus.SUCCEEDED
    assert len(harness.invoker.calls) == 501


async def test_a_finished_run_is_not_executed_again(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(step("a"))
    finished = await harness.run_to_end(saved.workflow_id)

    assert await harness.engine("worker-2").execute(finished.id) is None
    assert len(harness.invoker.calls) == 1


async def test_a_failure_raised_by_an_agent_function_is_an_agent_failure(harness: Harness) -> None:
    def refuses(call: AgentCall) -> None:
        raise AgentFailure(422, "bad input")

    await harness.agent("refuses", refuses)
    saved = await harness.workflow(step("a", "refuses"))

    finished = await harness.run_to_end(saved.workflow_id)

    assert finished.error == RunError(code="agent_error", message="bad input", step_id="a")
