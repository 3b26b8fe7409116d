"""Contract §7: however many workers share a database, each run is executed by one of them at a time."""

from __future__ import annotations

import asyncio
import collections

from e2e.execution.service_api import body_of, step
from e2e.execution.serving import Deployment
from fixtures.agents import DemoAgent

RUNS = 16


async def test_two_services_on_one_database_share_the_runs_and_call_each_step_once(
    deployment: Deployment, demo_agent: DemoAgent
) -> None:
    # One run at a time per worker, and steps that take a while: runs wait pending, and every worker goes for
    # them. Embedded, two services of one worker each: the first through its own queue, the second through its
    # sweep of the database; distributed, the stack's workers, each through its partitions of the runs topic.
    async with (
        deployment.serving(demo_agent.base_url, worker_concurrency=1) as first,
        deployment.serving(worker_concurrency=1) as second,
    ):
        workflow = await first.workflow(step("nap", "sleep", input={"seconds": 0.15}), step("last", "echo", "nap"))
        runs = [await body_of(await first.execute(workflow["id"], {"n": n}), 202) for n in range(RUNS)]
        finished = await asyncio.gather(*(second.wait(run["id"], within=30) for run in runs))
        assert {run["status"] for run in finished} == {"succeeded"}
        workers = {
            event["data"]["worker"]
            for run in runs
            for event in await second.logs(run["id"])
            if event["type"] == "run_started"
        }
    assert len(workers) == 2, "both workers should have executed some of the runs"
    keys = collections.Counter(call.idempotency_key for call in demo_agent.calls())
    assert len(keys) == 2 * RUNS
    assert set(keys.values()) == {1}
