"""A step's own writes (a retry recorded) made while the drive writes the run's progress: neither undoes the other."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from adapters_memory.agents import AgentFailure, AgentFunction
from unit.definitions import step
from unit.harness import Harness
from wfcore.domain.events import EventType
from wfcore.domain.runs import RunStatus
from wfcore.ports.agents import AgentCall


def after_turns(turns: int, failures: int, output: object) -> AgentFunction:
    """An agent answering after `turns` turns of the event loop, failing its first `failures` attempts."""

    async def answer(call: AgentCall) -> object:
        for _ in range(turns):
            await asyncio.sleep(0)
        if call.attempt <= failures:
            raise AgentFailure(500)
        return output

    return answer


@pytest.mark.parametrize("as_on_postgres", [False, True], ids=["as on SQLite", "as on PostgreSQL"])
@pytest.mark.parametrize("retry_turns", range(0, 12, 2))
@pytest.mark.parametrize("success_turns", range(0, 12, 3))
async def test_a_retry_recorded_while_other_steps_advance_neither_repeats_nor_loses_a_step(
    as_on_postgres: bool, retry_turns: int, success_turns: int
) -> None:
    harness = Harness.build(as_on_postgres=as_on_postgres)
    await harness.agent("flaky", after_turns(retry_turns, failures=1, output={"ok": 1}))
    await harness.agent("quick", after_turns(success_turns, failures=0, output={"ok": 2}))
    saved = await harness.workflow(
        step("a", "flaky"), step("b", "quick"), step("c", "quick", "b"), step("d", "quick", "c")
    )
    run = await harness.start(saved.workflow_id)

    finished = await harness.engine().execute(run.id)

    assert finished is not None
    assert finished.status is RunStatus.SUCCEEDED
    assert Counter(call.step_id for call in harness.invoker.calls) == {"a": 2, "b": 1, "c": 1, "d": 1}
    outcomes = Counter(
        (event.type, event.step_id)
        for event in await harness.queries.events(run.id)
        if event.type in (EventType.STEP_STARTED, EventType.STEP_SUCCEEDED)
    )
    assert set(outcomes.values()) == {1}, outcomes
