"""The contract's guarantees, checked on what the demo agent received and what the run's event log says."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from adapters_http.demo_agent import RecordedCall
from distributed.stack import Stack


def received_for(calls: list[RecordedCall], run_id: str) -> list[RecordedCall]:
    """The calls made for `run_id`, in the order the agent received them."""
    return [call for call in calls if isinstance(call.body, dict) and call.body.get("run_id") == run_id]


def calls_of(calls: list[RecordedCall], run_id: str) -> list[str]:
    """The step ids of the calls made for `run_id`, in the order the agent received them."""
    return [call.body["step_id"] for call in received_for(calls, run_id)]


async def assert_no_succeeded_step_called_again(stack: Stack, calls: list[RecordedCall], run_id: str) -> Counter[str]:
    """No call of a step reached the agent after the step was recorded succeeded (its `finished_at`).

    A step called again because its worker died or froze during the call is allowed: the contract is at
    least once until a success is recorded, and exactly once after. Returns the number of calls per step.
    """
    received = received_for(calls, run_id)
    for step in await stack.steps(run_id):
        if step["status"] == "succeeded":
            recorded = datetime.fromisoformat(step["finished_at"])
            arrivals = [call.received_at for call in received if call.body["step_id"] == step["step_id"]]
            late = [at for at in arrivals if at > recorded]
            assert not late, f"run {run_id}: {step['step_id']} called at {late}, after its success at {recorded}"
    return Counter(call.body["step_id"] for call in received)


async def assert_succeeded_once(stack: Stack, run_id: str, steps: int) -> None:
    """The run succeeded, and its event log records that and each step's success exactly once."""
    run = await stack.run(run_id)
    assert run["status"] == "succeeded", run
    events = Counter((event["type"], event["step_id"]) for event in await stack.events(run_id))
    assert events[("run_succeeded", None)] == 1, events
    assert events[("run_started", None)] == 1, events
    for index in range(steps):
        assert events[("step_succeeded", f"s{index}")] == 1, events


def attempts(calls: list[RecordedCall]) -> Counter[tuple[Any, str]]:
    """Calls per (Idempotency-Key, step) that the agent answered (not aborted by the caller)."""
    answered = [call for call in calls if not call.aborted and isinstance(call.body, dict)]
    return Counter((call.idempotency_key, call.body["step_id"]) for call in answered)
