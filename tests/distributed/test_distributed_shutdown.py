"""A worker stopped with SIGTERM: it finishes the runs in flight within its grace period, or releases them
for another worker long before their leases would expire."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from distributed.checks import assert_no_succeeded_step_called_again, assert_succeeded_once, calls_of
from distributed.stack import Stack
from fixtures.agents import DemoAgent

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

LONG_LEASE = "30"  # a takeover sooner than two thirds of this comes from the release, not from the lease expiring
TAKEN_OVER_WITHIN = 15.0


async def test_a_stopped_worker_finishes_the_run_it_holds_within_its_grace_period(
    stack: Stack, demo_agent: DemoAgent
) -> None:
    await asyncio.gather(*(stack.start_worker(WF_SHUTDOWN_GRACE_SECONDS="10") for _ in range(2)))
    workflow = await stack.workflow(demo_agent.base_url, [0, 1.0, 0])
    run_id = await stack.execute(workflow)
    stopped = stack.worker_of(await stack.holder(run_id))
    await demo_agent.wait_for_calls(lambda calls: "s1" in calls_of(calls, run_id))

    stopped.signal(signal.SIGTERM)
    exit_code = await stopped.wait_exit(within=15)

    assert exit_code == 0
    assert (await stack.run(run_id))["status"] == "succeeded"  # before its worker exited
    await assert_succeeded_once(stack, run_id, steps=3)
    calls = await assert_no_succeeded_step_called_again(stack, demo_agent.calls("/sleep"), run_id)
    assert calls == {"s0": 1, "s1": 1, "s2": 1}


async def test_a_stopped_worker_releases_a_run_that_outlasts_its_grace_period(
    stack: Stack, demo_agent: DemoAgent
) -> None:
    env = {"WF_SHUTDOWN_GRACE_SECONDS": "0.5", "WF_LEASE_SECONDS": LONG_LEASE}
    await asyncio.gather(stack.start_worker(**env), stack.start_worker(**env))
    workflow = await stack.workflow(demo_agent.base_url, [0, 3.0, 0])
    run_id = await stack.execute(workflow)
    stopped = stack.worker_of(await stack.holder(run_id))
    await demo_agent.wait_for_calls(lambda calls: "s1" in calls_of(calls, run_id))

    signalled = time.monotonic()
    stopped.signal(signal.SIGTERM)
    exit_code = await stopped.wait_exit(within=10)
    await stack.wait_finished([run_id], within=15)

    assert exit_code == 0
    # The lease, renewed every 10 s, would let another worker in 20 s after the signal at the earliest.
    assert time.monotonic() - signalled < TAKEN_OVER_WITHIN
    await assert_succeeded_once(stack, run_id, steps=3)
    calls = await assert_no_succeeded_step_called_again(stack, demo_agent.calls("/sleep"), run_id)
    assert calls == {"s0": 1, "s1": 2, "s2": 1}  # s1 again: its call was aborted when the grace period ended
    s1_calls = [call for call in demo_agent.calls("/sleep") if call.body["step_id"] == "s1"]
    assert [call.aborted for call in s1_calls] == [True, False]
