"""A stored version that no longer compiles fails its runs once, instead of being retried forever."""

from __future__ import annotations

import attrs
import pytest

from unit.harness import Harness
from wfcore.domain.runs import Run, RunStatus, StepStatus
from wfcore.domain.workflows import StepDefinition
from wfcore.use_cases.engine import RunExecution
from wfcore.use_cases.group_commit import Change


async def test_a_version_that_no_longer_compiles_fails_each_run_with_invalid_definition(harness: Harness) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(StepDefinition(id="a", agent="echo", input={"x": "{{ input.x }}"}))
    key = (saved.workflow_id, saved.version)
    # As if stored under an older rule set: a reference to a root that today's rules refuse.
    broken_step = attrs.evolve(saved.definition.steps[0], input={"x": "{{ @.steps.a.output }}"})
    broken = attrs.evolve(saved.definition, steps=(broken_step,))
    harness.store.versions[key] = attrs.evolve(saved, definition=broken)

    engine = harness.engine()

    for _ in range(2):  # the second from the engine's cache of compiled versions
        run = await harness.start(saved.workflow_id)
        finished = await engine.execute(run.id)

        assert finished is not None
        assert finished.status is RunStatus.FAILED
        assert finished.error is not None
        assert finished.error.code == "invalid_definition"
        assert (await harness.steps(run.id))["a"].status is StepStatus.CANCELLED
    assert harness.calls("a") == []


async def test_a_run_that_cannot_be_started_is_given_back_not_held_until_its_lease_expires(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.agent("echo")
    saved = await harness.workflow(StepDefinition(id="a", agent="echo"))
    run = await harness.start(saved.workflow_id)

    def broken(execution: RunExecution, run: Run) -> Change:
        raise RuntimeError("a bug in starting the run")

    monkeypatch.setattr(RunExecution, "_begin", broken)
    execution = await harness.engine().claim(run.id)
    assert execution is not None, "the claim commits: the message that offered the run is answered"
    with pytest.raises(RuntimeError):
        await execution.drive()

    stored = harness.store.runs[run.id]
    assert stored.status is RunStatus.PENDING
    assert stored.lease is not None
    assert stored.lease.owner is None, "released at once, for the sweep to offer again"
    assert harness.calls("a") == []
