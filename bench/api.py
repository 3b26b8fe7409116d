"""API throughput: GET /api/v1/workflows/{id} and POST /api/v1/agents against a bare aiohttp + Core baseline.

Each server runs in its own process (`wf serve`, and a bare aiohttp handler doing one SQLAlchemy Core
select on the same database); the load comes from this process with a fixed number of connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp

TARGET_RATIO = 0.8
TARGET_P99_MS = 40.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def process(args: Sequence[str], env: dict[str, str], health_url: str) -> AsyncIterator[None]:
    child = await asyncio.create_subprocess_exec(
        *args, env={**os.environ, **env}, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(health_url) as response:
                        if response.status < 500:
                            break
                await asyncio.sleep(0.1)
        yield
    finally:
        child.terminate()
        await child.wait()


async def load(
    make_request: Callable[[aiohttp.ClientSession], Any], connections: int, seconds: float
) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 in ms, over `seconds` of `connections` concurrent clients."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            async with make_request(session) as response:
                await response.read()
                assert response.status < 300, response.status
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(connections)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return len(latencies) / elapsed, statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))]


async def measure(database_url: str, connections: int, seconds: float) -> None:
    api_port, base_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"
    env = {
        "WF_DATABASE_URL": database_url,
        "WF_PORT": str(api_port),
        "WF_LOG_LEVEL": "WARNING",
        "WF_SECRET_KEY": "mB1uV8tDqk0o0X5Zb3b3xk9m4c2b1n0v9c8x7z6a5s4=",
    }
    async with process([sys.executable, "-m", "wfapp.cli", "serve"], env, f"{api}/health"):
        # Names of their own, so that a database used before (PostgreSQL) takes them.
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        async with aiohttp.ClientSession() as session:
            await session.post(f"{api}/api/v1/agents", json={"name": prefix, "url": "http://127.0.0.1:9/"})
            body = {"name": prefix, "steps": [{"id": "a", "agent": prefix, "input": {"x": "{{ input.x }}"}}]}
            async with session.post(f"{api}/api/v1/workflows", json=body) as response:
                workflow_id = (await response.json())["id"]
        names = itertools.count()
        read = await load(lambda s: s.get(f"{api}/api/v1/workflows/{workflow_id}"), connections, seconds)
        write = await load(
            lambda s: s.post(f"{api}/api/v1/agents", json={"name": f"{prefix}-{next(names)}", "url": "http://127.0.0.1:9/"}),
            connections,
            seconds,
        )
    baseline_args = [
        sys.executable,
        "-m",
        "bench._baseline_server",
        "--database-url",
        database_url,
        "--port",
        str(base_port),
    ]
    base = f"http://127.0.0.1:{base_port}"
    async with process(baseline_args, {}, f"{base}/w/{workflow_id}"):
        floor = await load(lambda s: s.get(f"{base}/w/{workflow_id}"), connections, seconds)
    kind = database_url.split("+")[0]
    print(
        f"[{kind}] baseline (bare aiohttp + one Core select): {floor[0]:.0f} req/s, "
        f"p50 {floor[1]:.1f} ms, p99 {floor[2]:.1f} ms"
    )
    for label, figures in (("GET /api/v1/workflows/{id}", read), ("POST /api/v1/agents", write)):
        ratio = figures[0] / floor[0]
        print(
            f"[{kind}] {label}: {figures[0]:.0f} req/s ({ratio:.0%} of baseline, target >= {TARGET_RATIO:.0%}), "
            f"p50 {figures[1]:.1f} ms, p99 {figures[2]:.1f} ms (target <= {TARGET_P99_MS:.0f} ms)"
        )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench api", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("WF_BENCH_POSTGRES_URL"),
        help="a migrated-or-empty PostgreSQL database (postgresql+asyncpg://...); omitted: SQLite only",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure(f"sqlite+aiosqlite:///{Path(folder) / 'wf.db'}", args.connections, args.seconds))
    if args.postgres_url:
        from wfapp.migration import migrate

        migrate(args.postgres_url)
        asyncio.run(measure(args.postgres_url, args.connections, args.seconds))
    return 0
