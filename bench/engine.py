"""Embedded-mode engine: per-step overhead and runs/s on SQLite, beside the floor measured in the same run.

The floor is what a step cannot avoid: one agent round trip to a no-op agent on loopback plus one
SQLAlchemy Core commit. Overhead = (run duration - 10 x floor) / 10 steps.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from adapters_db.engine import create_database
from wfapp import Settings, WorkflowService
from wfcore.domain.ids import RunId

TARGET_STEP_OVERHEAD_MS = 1.4
TARGET_CONCURRENT_RUNS_PER_S = 120
TARGET_CONCURRENT_P99_MS = 300


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@contextlib.asynccontextmanager
async def noop_agent() -> AsyncIterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wfapp.cli",
        "demo-agent",
        "--port",
        str(port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(url + "/health") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.05)
        yield url + "/echo"
    finally:
        process.kill()
        await process.wait()


async def floor_ms(agent_url: str, database: Path, steps: int, repetitions: int) -> float:
    """One agent call plus one Core commit through the service's own database path, per step, p50."""
    db = create_database(f"sqlite+aiosqlite:///{database}")
    table = sa.Table("floor", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer))
    async with db.connect() as connection:
        await connection.run_sync(table.metadata.create_all)
        await connection.execute(table.insert().values(id=1, n=0))
        await connection.commit()
    samples = []
    async with aiohttp.ClientSession() as session:
        for _ in range(repetitions):
            started = time.perf_counter()
            for step in range(steps):
                async with session.post(agent_url, json={"input": {"step": step}}) as response:
                    await response.read()
                async with db.connect() as connection:
                    await connection.execute(table.update().where(table.c.id == 1).values(n=table.c.n + 1))
                    await connection.commit()
            samples.append((time.perf_counter() - started) * 1000 / steps)
    await db.dispose()
    return statistics.median(samples)


def linear(steps: int) -> dict[str, Any]:
    return {
        "name": f"linear-{steps}",
        "steps": [
            {"id": f"s{i}", "agent": "noop", "input": {"i": i}, **({"depends_on": [f"s{i - 1}"]} if i else {})}
            for i in range(steps)
        ],
    }


def fan_out(width: int) -> dict[str, Any]:
    return {
        "name": f"fan-{width}",
        "steps": [{"id": f"b{i}", "agent": "noop", "input": {"i": i}} for i in range(width)],
    }


async def timed_run(wf: WorkflowService, workflow_id: str) -> float:
    started = time.perf_counter()
    run = await wf.execute(workflow_id, {})
    await wf._container.engine().execute(RunId(run.id))
    return (time.perf_counter() - started) * 1000


async def measure(agent_url: str, folder: Path, runs: int, concurrency: int) -> dict[str, float]:
    database = folder / "wf.db"
    settings = Settings(secret_key=(), worker_concurrency=concurrency)
    wf = await WorkflowService.open(f"sqlite+aiosqlite:///{database}", settings=settings, workers=False)
    try:
        await wf.register_agent(name="noop", url=agent_url)
        chain = (await wf.create_workflow(linear(10))).workflow_id
        fan = (await wf.create_workflow(fan_out(10))).workflow_id
        for _ in range(5):
            await timed_run(wf, chain)
        single = [await timed_run(wf, chain) for _ in range(runs)]
        fan_single = [await timed_run(wf, fan) for _ in range(runs)]
        chain_rate, chain_p99 = await concurrent_runs(wf, chain, runs, concurrency)
        fan_rate, fan_p99 = await concurrent_runs(wf, fan, runs, concurrency)
    finally:
        await wf.close()
    return {
        "single_run_p50_ms": statistics.median(single),
        "fan_run_p50_ms": statistics.median(fan_single),
        "concurrent_runs_per_s": chain_rate,
        "concurrent_p99_ms": chain_p99,
        "concurrent_fan_runs_per_s": fan_rate,
        "concurrent_fan_p99_ms": fan_p99,
    }


async def concurrent_runs(wf: WorkflowService, workflow_id: str, runs: int, concurrency: int) -> tuple[float, float]:
    """Runs per second and run p99 (ms) of `runs` runs executed `concurrency` at a time."""
    started = time.perf_counter()
    durations: list[float] = []
    for _ in range(max(1, runs // concurrency)):
        durations += await asyncio.gather(*(timed_run(wf, workflow_id) for _ in range(concurrency)))
    return len(durations) / (time.perf_counter() - started), percentile(durations, 0.99)


async def run(runs: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with noop_agent() as agent_url:
            floor = await floor_ms(agent_url, Path(folder) / "floor.db", 10, max(5, runs // 4))
            figures = await measure(agent_url, Path(folder), runs, concurrency)
    overhead = (figures["single_run_p50_ms"] - 10 * floor) / 10
    print(f"floor (agent round trip + one Core commit) per step, p50: {floor:.2f} ms")
    print(f"10-step linear run, one at a time, p50: {figures['single_run_p50_ms']:.1f} ms")
    print(
        f"per-step orchestration overhead, p50: {overhead:.2f} ms (target <= {TARGET_STEP_OVERHEAD_MS} ms, "
        f"ratio {overhead / TARGET_STEP_OVERHEAD_MS:.2f})"
    )
    print(f"10-wide fan-out run, one at a time, p50: {figures['fan_run_p50_ms']:.1f} ms")
    rate, p99 = figures["concurrent_runs_per_s"], figures["concurrent_p99_ms"]
    print(
        f"{concurrency} concurrent 10-step runs: {rate:.0f} runs/s (target >= {TARGET_CONCURRENT_RUNS_PER_S}, "
        f"ratio {rate / TARGET_CONCURRENT_RUNS_PER_S:.2f}), p99 {p99:.0f} ms (target <= {TARGET_CONCURRENT_P99_MS}, "
        f"ratio {p99 / TARGET_CONCURRENT_P99_MS:.2f})"
    )
    print(
        f"{concurrency} concurrent 10-wide fan-out runs: {figures['concurrent_fan_runs_per_s']:.0f} runs/s, "
        f"p99 {figures['concurrent_fan_p99_ms']:.0f} ms"
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench engine", description=__doc__)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("WF_BENCH_RUNS", "64")))
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    asyncio.run(run(args.runs, args.concurrency))
    return 0
