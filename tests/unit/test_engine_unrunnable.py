"""A stored version that no longer compiles fails its runs once, instead of being retried forever."""

from __future__ import annotations

import attrs

from unit.harness import Harness
from wfcore.domain.runs import RunStatus, StepStatus
from wfcore.domain.workflows import StepDefinition


async def test_a_version_that_no_longer_compiles_fails_the_run_with_invalid_definition() -> None:
    harness = Harness.build()
    await harness.agent("echo")
    saved = await harness.workflow(StepDefinition(id="a", agent="echo", input={"x": "{{ input.x }}"}))
    key = (saved.workflow_id, saved.version)
    # As if stored under an older rule set: a reference to a root that today's rules refuse.
    broken_step = attrs.evolve(saved.definition.steps[0], input={"x": "{{ @.steps.a.output }}"})
    broken = attrs.evolve(saved.definition, steps=(broken_step,))
    harness.store.versions[key] = attrs.evolve(saved, definition=broken)

    run = await harness.start(saved.workflow_id)
    finished = await harness.engine().execute(run.id)

    assert finished is not None
    assert finished.status is RunStatus.FAILED
    assert finished.error is not None
    assert finished.error.code == "invalid_definition"
    assert (await harness.steps(run.id))["a"].status is StepStatus.CANCELLED
    assert harness.calls("a") == []
