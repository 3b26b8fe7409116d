"""The run and step state machines: nothing moves a run or a step through a transition the tables forbid."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfcore.domain.errors import Conflict, IllegalTransition
from wfcore.domain.ids import RunId, WorkflowId
from wfcore.domain.runs import (
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    Lease,
    Run,
    RunError,
    RunStatus,
    StepAttempt,
    StepError,
    StepExecution,
    StepStatus,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(seconds=5)


def new_run(status: RunStatus = RunStatus.PENDING, **fields: Any) -> Run:
    return Run(
        id=RunId("run-1"),
        workflow_id=WorkflowId("wf-1"),
        workflow_name="wf",
        workflow_version=1,
        status=status,
        input={},
        triggered_by="ada",
        created_at=T0,
        **fields,
    )


RunCommand = tuple[str, Callable[[Run], Run], RunStatus]

RUN_COMMANDS: list[RunCommand] = [
    ("start", lambda run: run.start(at=LATER), RunStatus.RUNNING),
    ("succeed", lambda run: run.succeed(output={"ok": 1}, at=LATER), RunStatus.SUCCEEDED),
    ("fail", lambda run: run.fail(error=RunError(code="x", message="boom"), at=LATER), RunStatus.FAILED),
    ("confirm_cancel", lambda run: run.confirm_cancel(at=LATER), RunStatus.CANCELLED),
    ("redrive", lambda run: run.redrive(request_id="req-2"), RunStatus.PENDING),
    *((f"to {status}", lambda run, s=status: run.to(s), status) for status in RunStatus),
]


@given(st.lists(st.sampled_from(RUN_COMMANDS), max_size=25))
def test_no_command_sequence_takes_a_run_through_a_forbidden_transition(commands: list[RunCommand]) -> None:
    run = new_run()
    for _name, command, target in commands:
        before = run
        if target in RUN_TRANSITIONS[before.status]:
            run = command(before)
            assert run.status is target
        else:
            with pytest.raises(IllegalTransition) as raised:
                command(before)
            assert (raised.value.current, raised.value.requested) == (before.status, target)
            assert run == before


@given(st.lists(st.tuples(st.sampled_from(RUN_COMMANDS[:5]), st.booleans()), max_size=25))
def test_request_cancel_follows_the_contract_in_every_state(commands: list[tuple[RunCommand, bool]]) -> None:
    run = new_run()
    for (_name, command, target), keep_cancel in commands:
        if target in RUN_TRANSITIONS[run.status]:
            run = command(run)
        if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            with pytest.raises(IllegalTransition) as raised:
                run.request_cancel(by="ada", at=LATER)
            assert (raised.value.current, raised.value.requested) == (run.status, "cancelled")
            continue
        requested = run.request_cancel(by="ada", at=LATER)
        if run.status is RunStatus.PENDING:
            assert requested.status is RunStatus.CANCELLED
            assert requested.cancelled_at == requested.finished_at == requested.cancel_requested_at == LATER
        elif run.status is RunStatus.RUNNING:
            assert requested.status is RunStatus.RUNNING
            assert requested.cancel_requested_at == (run.cancel_requested_at or LATER)
        else:
            assert requested is run
        run = requested if keep_cancel else run


def test_cancelling_a_pending_run_cancels_it_at_once() -> None:
    cancelled = new_run().request_cancel(by="ada", at=LATER)

    assert cancelled.status is RunStatus.CANCELLED
    assert (cancelled.cancelled_by, cancelled.cancelled_at, cancelled.finished_at) == ("ada", LATER, LATER)


def test_cancelling_a_running_run_records_the_request_once() -> None:
    running = new_run().start(at=T0)

    requested = running.request_cancel(by="ada", at=LATER)
    again = requested.request_cancel(by="bob", at=LATER + timedelta(seconds=1))

    assert requested.status is RunStatus.RUNNING
    assert (requested.cancel_requested_at, requested.cancelled_by, requested.cancelled_at) == (LATER, "ada", None)
    assert again is requested
    confirmed = requested.confirm_cancel(at=LATER)
    assert (confirmed.status, confirmed.cancelled_at, confirmed.finished_at) == (RunStatus.CANCELLED, LATER, LATER)


def test_cancelling_a_cancelled_run_is_a_no_op() -> None:
    cancelled = new_run().request_cancel(by="ada", at=T0)

    assert cancelled.request_cancel(by="bob", at=LATER) is cancelled


@pytest.mark.parametrize("finish", ["succeed", "fail"])
def test_cancelling_a_finished_run_is_an_illegal_transition(finish: str) -> None:
    running = new_run().start(at=T0)
    finished = (
        running.succeed(output=None, at=LATER)
        if finish == "succeed"
        else running.fail(error=RunError(code="x", message="m"), at=LATER)
    )

    with pytest.raises(IllegalTransition) as raised:
        finished.request_cancel(by="ada", at=LATER)

    assert isinstance(raised.value, Conflict)
    assert raised.value.entity_id == "run-1"
    assert str(raised.value) == f"run run-1 is {finished.status}: it cannot become cancelled"


def test_redrive_increments_the_attempt_and_clears_the_outcome() -> None:
    failed = new_run(request_id="req-1").start(at=T0).fail(error=RunError(code="x", message="m", step_id="a"), at=LATER)

    redriven = failed.redrive(request_id="req-2")

    assert (redriven.status, redriven.attempt) == (RunStatus.PENDING, 2)
    assert (redriven.error, redriven.output, redriven.finished_at) == (None, None, None)
    assert redriven.started_at == T0
    assert redriven.agent_idempotency_key("a") == "run-1:a:2" != failed.agent_idempotency_key("a")
    assert (failed.request_id, redriven.request_id) == ("req-1", "req-2")


def test_redrive_of_a_cancelled_run_clears_the_cancellation() -> None:
    cancelled = new_run().request_cancel(by="ada", at=T0)

    redriven = cancelled.redrive(request_id=None)

    assert (redriven.cancel_requested_at, redriven.cancelled_at, redriven.cancelled_by) == (None, None, None)


@pytest.mark.parametrize("status", [RunStatus.PENDING, RunStatus.RUNNING, RunStatus.SUCCEEDED])
def test_redrive_of_a_run_that_did_not_fail_or_cancel_is_illegal(status: RunStatus) -> None:
    with pytest.raises(IllegalTransition):
        new_run(status).redrive(request_id=None)


def test_a_second_start_keeps_the_first_start_time() -> None:
    restarted = (
        new_run()
        .start(at=T0)
        .fail(error=RunError(code="x", message="m"), at=T0)
        .redrive(request_id=None)
        .start(at=LATER)
    )

    assert restarted.started_at == T0


@given(st.lists(st.sampled_from(StepStatus), max_size=25))
def test_no_sequence_takes_a_step_through_a_forbidden_transition(targets: list[StepStatus]) -> None:
    step = StepExecution(run_id=RunId("run-1"), step_id="a")
    for target in targets:
        before = step
        if target in STEP_TRANSITIONS[before.status]:
            step = before.to(target)
            assert step.status is target
        else:
            with pytest.raises(IllegalTransition) as raised:
                before.to(target)
            assert (raised.value.current, raised.value.requested) == (before.status, target)
            assert "step a of run" in str(raised.value)
            assert step == before


def test_finished_steps_only_go_back_to_pending() -> None:
    for status in StepStatus:
        if status.is_finished:
            assert STEP_TRANSITIONS[status] == {StepStatus.PENDING}
    assert not StepStatus.PENDING.is_finished
    assert not StepStatus.RUNNING.is_finished


def test_a_succeeded_run_is_final_and_finished_runs_only_redrive() -> None:
    assert RUN_TRANSITIONS[RunStatus.SUCCEEDED] == frozenset()
    assert RUN_TRANSITIONS[RunStatus.FAILED] == RUN_TRANSITIONS[RunStatus.CANCELLED] == {RunStatus.PENDING}
    assert {status for status in RunStatus if status.is_finished} == {
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
    }


def test_reset_forgets_everything_but_the_step_and_its_agent() -> None:
    finished = StepExecution(
        run_id=RunId("run-1"),
        step_id="a",
        agent_id=None,
        status=StepStatus.FAILED,
        input={"x": 1},
        error=StepError(code="agent_error", message="m", http_status=500),
        attempts=(StepAttempt(attempt=1, started_at=T0, finished_at=LATER),),
        started_at=T0,
        finished_at=LATER,
    )

    assert finished.duration_ms == 5000
    assert finished.reset() == StepExecution(run_id=RunId("run-1"), step_id="a")
    assert attrs.evolve(finished, finished_at=None).duration_ms is None


@pytest.mark.parametrize(
    ("lease", "free"),
    [
        (Lease(owner="w1", expires_at=LATER, token=1), False),
        (Lease(owner="w1", expires_at=T0, token=1), True),
        (Lease(owner=None, expires_at=None, token=3), True),
    ],
)
def test_a_lease_is_free_once_released_or_expired(lease: Lease, free: bool) -> None:
    assert lease.is_free(T0) is free
