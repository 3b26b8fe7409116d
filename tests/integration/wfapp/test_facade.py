"""The README's Python example: the service in a program, on SQLite, calling a real agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.agents import DemoAgent
from wfapp import Settings, WorkflowService
from wfcore.domain.errors import InvalidDefinition


async def test_open_register_create_execute_and_wait(tmp_path: Path, demo_agent: DemoAgent) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wf.db'}"
    async with await WorkflowService.open(url) as wf:
        await wf.register_agent(name="echo", url=demo_agent.url("/echo"))
        workflow = await wf.create_workflow(
            {"name": "hello", "steps": [{"id": "say", "agent": "echo", "input": {"text": "{{ input.who }}"}}]}
        )
        run = await wf.execute(workflow.workflow_id, {"who": "world"})
        finished = await wf.wait_for_run(run.id)
        assert finished.status == "succeeded"
        assert finished.output == {"say": {"text": "world"}}
        steps = await wf.run_steps(run.id)
        assert [(step.step_id, step.status) for step in steps] == [("say", "succeeded")]

        second = await wf.update_workflow(
            workflow.workflow_id,
            {"name": "hello", "steps": [{"id": "say", "agent": "echo", "input": {"text": "bye"}}]},
        )
        assert second.version == 2
        again = await wf.wait_for_run((await wf.execute(workflow.workflow_id)).id)
        assert again.output == {"say": {"text": "bye"}}
        assert again.triggered_by == "library"


async def test_an_invalid_definition_is_refused_with_its_place(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wf.db'}"
    async with await WorkflowService.open(url, settings=Settings(secret_key=()), workers=False) as wf:
        with pytest.raises(InvalidDefinition) as raised:
            await wf.create_workflow({"name": "bad", "steps": [{"id": "a", "agent": "nobody", "depends_on": ["b"]}]})
    locs = {error.loc for error in raised.value.errors}
    assert ("steps", 0, "depends_on", 0) in locs


async def test_cancel_and_retry_through_the_facade(tmp_path: Path, demo_agent: DemoAgent) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wf.db'}"
    async with await WorkflowService.open(url) as wf:
        await wf.register_agent(name="sleepy", url=demo_agent.url("/sleep"), timeout_ms=10_000)
        workflow = await wf.create_workflow(
            {"name": "nap", "steps": [{"id": "nap", "agent": "sleepy", "input": {"seconds": 5}}]}
        )
        run = await wf.execute(workflow.workflow_id)
        await demo_agent.wait_for_calls(lambda calls: any(call.path == "/sleep" for call in calls))
        await wf.cancel(run.id)
        cancelled = await wf.wait_for_run(run.id, timeout_seconds=5)
        assert cancelled.status == "cancelled"
        retried = await wf.retry(run.id)
        assert retried.attempt == 2
