"""Many runs while workers come and go at random: every run finishes once, no succeeded step runs again."""

from __future__ import annotations

import asyncio
import random
import signal

import pytest

from distributed.checks import assert_no_succeeded_step_called_again, assert_succeeded_once
from distributed.stack import Process, Stack
from fixtures.agents import DemoAgent

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

RUNS = 200
STEPS = 3
MAX_WORKERS = 4
CHAOS_EVENTS = 8


async def submit(stack: Stack, workflow: str, count: int) -> list[str]:
    """`count` runs, a few at a time over a few seconds, so that they meet the workers' comings and goings."""
    run_ids: list[str] = []
    for index in range(count):
        run_ids.append(await stack.execute(workflow, {"n": index}))
        if index % 10 == 9:
            await asyncio.sleep(0.5)
    return run_ids


async def chaos(stack: Stack, rng: random.Random) -> list[tuple[Process, int]]:
    """Start, stop (SIGTERM) and kill (SIGKILL) workers at random; returns the stopped ones with their exit code."""
    stopped: list[tuple[Process, int]] = []
    for _ in range(CHAOS_EVENTS):
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        alive = [process for process in stack.processes if process.name.startswith("worker") and process.alive]
        action = rng.choice(["start", "stop", "kill"])
        if (action == "start" and len(alive) < MAX_WORKERS) or len(alive) < 2:
            await stack.start_worker(wait=False)
        elif action == "stop":
            victim = rng.choice(alive)
            victim.signal(signal.SIGTERM)
            stopped.append((victim, await victim.wait_exit(within=20)))
        else:
            rng.choice(alive).kill()
    return stopped


async def test_runs_survive_workers_starting_stopping_and_dying_at_random(stack: Stack, demo_agent: DemoAgent) -> None:
    rng = random.Random(20240607)
    await asyncio.gather(stack.start_worker(), stack.start_worker())
    workflow = await stack.workflow(demo_agent.base_url, [0.05] * STEPS)

    run_ids, stopped = await asyncio.gather(submit(stack, workflow, RUNS), chaos(stack, rng))
    if sum(process.alive for process in stack.processes if process.name.startswith("worker")) < 2:
        await stack.start_worker()
    await stack.wait_finished(run_ids, within=90)

    assert all(code == 0 for _, code in stopped), [(process.name, code) for process, code in stopped]
    calls = demo_agent.calls("/sleep")
    for run_id in run_ids:
        await assert_succeeded_once(stack, run_id, steps=STEPS)
        await assert_no_succeeded_step_called_again(stack, calls, run_id)
