"""Runs through Kafka: the API hands them to the broker, workers claim and execute them, once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from adapters_kafka.codec import encode
from distributed.checks import assert_succeeded_once, attempts, calls_of
from distributed.stack import Stack
from fixtures.agents import DemoAgent
from wfcore.domain.ids import RunId
from wfcore.ports.dispatch import Dispatch, DispatchKind

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_runs_execute_end_to_end_through_kafka(stack: Stack, demo_agent: DemoAgent) -> None:
    workers = await asyncio.gather(stack.start_worker(), stack.start_worker())
    workflow = await stack.workflow(demo_agent.base_url, [0, 0, 0])

    run_ids = [await stack.execute(workflow, {"n": index}) for index in range(6)]
    await stack.wait_finished(run_ids)

    for run_id in run_ids:
        await assert_succeeded_once(stack, run_id, steps=3)
    answered = attempts(demo_agent.calls("/sleep"))
    assert len(answered) == 3 * len(run_ids)
    assert set(answered.values()) == {1}
    holders = {await stack.holder(run_id) for run_id in run_ids}
    assert all(any(f"-{worker.pid}-" in owner for worker in workers) for owner in holders)
    metrics_of = [worker.health_url.removesuffix("/health") for worker in workers]
    finished = [await stack.metric(url, "wf_runs_finished_total", status="succeeded") for url in metrics_of]
    assert sum(finished) == len(run_ids)
    assert all([await stack.metric(url, "wf_worker_heartbeat_timestamp_seconds") > 0 for url in metrics_of])


async def committed_offset(bootstrap: str, group: str, partition: TopicPartition) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=[partition])
    finally:
        await admin.close()
    found = offsets.get(partition)
    return -1 if found is None else int(found.offset)


async def test_a_start_message_delivered_again_does_not_run_the_run_again(
    stack: Stack, demo_agent: DemoAgent, kafka_bootstrap: str
) -> None:
    await asyncio.gather(stack.start_worker(), stack.start_worker())
    workflow = await stack.workflow(demo_agent.base_url, [0, 1.0])
    run_id = await stack.execute(workflow)
    await stack.holder(run_id)
    duplicate = encode(
        Dispatch(id=str(uuid.uuid4()), kind=DispatchKind.START, run_id=RunId(run_id), created_at=datetime.now(UTC))
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        while_running = [
            await producer.send_and_wait(stack.runs_topic, duplicate.value, key=duplicate.key) for _ in range(2)
        ]
        await stack.wait_finished([run_id])
        after_finish = await producer.send_and_wait(stack.runs_topic, duplicate.value, key=duplicate.key)
    finally:
        await producer.stop()
    partition = after_finish.topic_partition
    async with asyncio.timeout(30):
        # The group commits an offset only once the worker answered the offer of the message before it.
        # The offsets are the broker's: there is no event to wait for, only polling.
        while await committed_offset(kafka_bootstrap, stack.group_id, partition) <= after_finish.offset:  # noqa: ASYNC110
            await asyncio.sleep(0.1)

    assert all(sent.topic_partition == partition for sent in while_running)
    await assert_succeeded_once(stack, run_id, steps=2)
    assert calls_of(demo_agent.calls("/sleep"), run_id) == ["s0", "s1"]


async def test_a_cancel_reaches_the_worker_through_the_control_topic(stack: Stack, demo_agent: DemoAgent) -> None:
    await asyncio.gather(stack.start_worker(WF_LEASE_SECONDS="60"), stack.start_worker(WF_LEASE_SECONDS="60"))
    workflow = await stack.workflow(demo_agent.base_url, [0, 60.0])
    run_id = await stack.execute(workflow)
    holder = stack.worker_of(await stack.holder(run_id))
    await demo_agent.wait_for_calls(lambda calls: "s1" in calls_of(calls, run_id))

    await stack.call("POST", f"/api/v1/runs/{run_id}/cancel", 202)
    runs = await stack.wait_finished([run_id], within=20)

    assert runs[run_id]["status"] == "cancelled"
    assert f"cancel of run {run_id} received" in holder.log()
    [slow_call] = [call for call in demo_agent.calls("/sleep") if call.body["step_id"] == "s1"]
    assert slow_call.aborted
