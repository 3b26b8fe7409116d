"""The contract's guarantees, checked on what the demo agent received and what the run's event log says."""

from __future__ import annotations

from collections import Counter
from typing import Any

from adapters_http.demo_agent import RecordedCall
from distributed.stack import Stack


def calls_of(calls: list[RecordedCall], run_id: str) -> list[str]:
    """The step ids of the calls made for `run_id`, in the order the agent received them."""
    return [call.body["step_id"] for call in calls if isinstance(call.body, dict) and call.body.get("run_id") == run_id]


def assert_no_succeeded_step_called_again(calls: list[RecordedCall], run_id: str, steps: int) -> Counter[str]:
    """In a chain s0 -> s1 -> ..., step sK starts only once s(K-1) is recorded succeeded: so no call of s(K-1)
    may arrive after the first call of sK. Returns the number of calls per step."""
    order = calls_of(calls, run_id)
    for index in range(1, steps):
        previous, step = f"s{index - 1}", f"s{index}"
        assert step in order, f"{step} of run {run_id} was never called: {order}"
        first = order.index(step)
        assert previous not in order[first:], f"run {run_id}: {previous} called again after it succeeded: {order}"
    return Counter(order)


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
