"""Faults of the distributed mode: no run lost, no succeeded step called again.

A worker killed mid-step, a worker frozen past its lease and woken up, a broker stopped while runs are
executed and accepted, a broker that comes back empty. Each checks the run's event log (every step
succeeded once) and the calls the demo agent received (none of a step after its success was recorded).
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from distributed.checks import assert_no_succeeded_step_called_again, assert_succeeded_once, calls_of
from distributed.stack import Process, Stack
from fixtures.agents import DemoAgent
from fixtures.kafka import TansuBroker

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_a_worker_killed_mid_step_is_taken_over_once_its_lease_expires(
    stack: Stack, demo_agent: DemoAgent
) -> None:
    await asyncio.gather(stack.start_worker(), stack.start_worker())
    workflow = await stack.workflow(demo_agent.base_url, [0, 1.5, 0])
    run_id = await stack.execute(workflow)
    victim = stack.worker_of(await stack.holder(run_id))
    await demo_agent.wait_for_calls(lambda calls: "s1" in calls_of(calls, run_id))

    victim.kill()
    await stack.wait_finished([run_id], within=30)

    await assert_succeeded_once(stack, run_id, steps=3)
    calls = await assert_no_succeeded_step_called_again(stack, demo_agent.calls("/sleep"), run_id)
    assert calls == {"s0": 1, "s1": 2, "s2": 1}  # s1 again: it was running, not succeeded, when its worker died


async def test_a_worker_frozen_past_its_lease_cannot_write_when_it_wakes_up(
    stack: Stack, demo_agent: DemoAgent
) -> None:
    await asyncio.gather(stack.start_worker(), stack.start_worker())
    workflow = await stack.workflow(demo_agent.base_url, [0, 1.5, 0])
    run_id = await stack.execute(workflow)
    frozen = stack.worker_of(await stack.holder(run_id))
    await demo_agent.wait_for_calls(lambda calls: "s1" in calls_of(calls, run_id))

    frozen.signal(signal.SIGSTOP)
    try:
        finished = (await stack.wait_finished([run_id], within=30))[run_id]
    finally:
        frozen.signal(signal.SIGCONT)
    # Awake, it gets the answer of its s1 call and tries to record it, and to renew its lease.
    await stack.wait_ready(frozen)
    await asyncio.sleep(2.0)

    assert await stack.run(run_id) == finished
    await assert_succeeded_once(stack, run_id, steps=3)
    calls = await assert_no_succeeded_step_called_again(stack, demo_agent.calls("/sleep"), run_id)
    assert calls == {"s0": 1, "s1": 2, "s2": 1}
    assert frozen.alive
    assert f"run {run_id}: lease lost" in frozen.log()  # its late write was refused


async def test_runs_executed_or_accepted_while_the_broker_is_down_complete_and_run_once(
    stack_on_own_broker: Stack, kafka_broker: TansuBroker, demo_agent: DemoAgent
) -> None:
    stack = stack_on_own_broker
    # Tansu comes back empty: the relay re-creates the topic, and a consumer can take a while to see it
    # again. Sweeping runs pending for 15 s bounds that wait; the statuses of the runs accepted while the
    # broker is down are read well before then.
    sweep = {"WF_SWEEP_PENDING_AFTER_SECONDS": "15"}
    worker, _ = await asyncio.gather(stack.start_worker(**sweep), stack.start_worker(**sweep))
    workflow = await stack.workflow(demo_agent.base_url, [0, 3.0])
    executing = [await stack.execute(workflow, {"n": index}) for index in range(3)]
    await demo_agent.wait_for_calls(lambda calls: all("s1" in calls_of(calls, run_id) for run_id in executing))

    await asyncio.to_thread(kafka_broker.stop)
    try:
        executing_when_stopped = {(await stack.run(run_id))["status"] for run_id in executing}
        accepted = [await stack.execute(workflow, {"n": index}) for index in range(5)]
        await asyncio.sleep(2.0)  # longer than the relay's first retries
        statuses = {(await stack.run(run_id))["status"] for run_id in accepted}
        backlog_while_down = await stack.metric(stack.api_url, "wf_outbox_backlog")
        failures = await stack.metric(stack.api_url, "wf_broker_publish_failures_total")
        ready = await stack.call("GET", "/health/ready", 503)
        worker_ready = await readiness(stack, worker)
        # A run holds its worker through the database: it goes on without the broker.
        finished_while_down = await stack.wait_finished(executing, within=30)
    finally:
        await asyncio.to_thread(kafka_broker.start)
    await stack.wait_finished(accepted, within=60)
    backlog_after = await stack.metric(stack.api_url, "wf_outbox_backlog")

    assert executing_when_stopped == {"running"}
    assert {run["status"] for run in finished_while_down.values()} == {"succeeded"}
    assert statuses == {"pending"}
    assert {check["name"]: check["ok"] for check in ready["checks"]} == {"database": True, "broker": False}
    assert worker_ready[0] == 503
    assert {check["name"]: check["ok"] for check in worker_ready[1]["checks"]}["broker"] is False
    assert (backlog_while_down, backlog_after) == (len(accepted), 0)
    assert failures >= 1
    calls = demo_agent.calls("/sleep")
    for run_id in [*executing, *accepted]:
        await assert_succeeded_once(stack, run_id, steps=2)
        assert calls_of(calls, run_id) == ["s0", "s1"]


async def readiness(stack: Stack, process: Process) -> tuple[int, Any]:
    """What a process's readiness endpoint answers, as soon as it says the broker is unreachable (or after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        async with stack.http.get(process.health_url + "/ready", timeout=aiohttp.ClientTimeout(total=10)) as response:
            answer = response.status, await response.json()
        if answer[0] != 200 or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.1)


async def unsent_dispatches(database_url: str) -> int:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            unsent = await connection.execute(sa.text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
            return int(unsent.scalar_one())
    finally:
        await engine.dispose()


async def test_runs_whose_messages_the_broker_lost_are_taken_by_the_sweep(
    stack_on_own_broker: Stack, kafka_broker: TansuBroker, demo_agent: DemoAgent
) -> None:
    stack = stack_on_own_broker
    workflow = await stack.workflow(demo_agent.base_url, [0, 0])
    run_ids = [await stack.execute(workflow, {"n": index}) for index in range(3)]
    async with asyncio.timeout(30):
        while await unsent_dispatches(stack.database_url):  # noqa: ASYNC110 (the outbox is a table: polled)
            await asyncio.sleep(0.1)

    # Published, never consumed, then gone: the broker comes back empty.
    await asyncio.to_thread(kafka_broker.restart)
    await stack.start_worker(WF_SWEEP_PENDING_AFTER_SECONDS="2")
    await stack.wait_finished(run_ids, within=60)

    calls = demo_agent.calls("/sleep")
    for run_id in run_ids:
        await assert_succeeded_once(stack, run_id, steps=2)
        assert calls_of(calls, run_id) == ["s0", "s1"]
