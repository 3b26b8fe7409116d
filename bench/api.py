"""API throughput: GET /api/v1/workflows/{id} and POST /api/v1/agents against a bare aiohttp + Core baseline.

Each server runs in its own process (`wf serve`, and a bare aiohttp handler doing one SQLAlchemy Core
select on the same database); the load comes from this process with a fixed number of connections.
The three kinds of request take turns in short windows (--rounds), so that a machine busy with
something else slows them alike and the ratios stay meaningful.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs

TARGET_RATIO = 0.8
TARGET_P99_MS = 40.0
BASELINE = "baseline (bare aiohttp + one Core select)"
WRITE_FLOOR = "bare write (aiohttp + the two Core inserts and commit)"


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


@attrs.define
class Load:
    """What one kind of request measured, added up over the rounds."""

    latencies_ms: list[float] = attrs.Factory(list)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[int(fraction * (len(ordered) - 1))]

    async def add(self, make_request: Callable[[aiohttp.ClientSession], Any], connections: int, seconds: float) -> None:
        """`connections` concurrent clients sending requests for `seconds`."""
        deadline = time.perf_counter() + seconds

        async def client(session: aiohttp.ClientSession) -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with make_request(session) as response:
                    await response.read()
                    assert response.status < 300, response.status
                self.latencies_ms.append((time.perf_counter() - started) * 1000)

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
            started = time.perf_counter()
            await asyncio.gather(*(client(session) for _ in range(connections)))
            self.seconds += time.perf_counter() - started


async def measure(database_url: str, connections: int, seconds: float, rounds: int) -> None:
    api_port, base_port = free_port(), free_port()
    api, base = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{base_port}"
    env = {
        "WF_DATABASE_URL": database_url,
        "WF_PORT": str(api_port),
        "WF_LOG_LEVEL": "WARNING",
        "WF_SECRET_KEY": "mB1uV8tDqk0o0X5Zb3b3xk9m4c2b1n0v9c8x7z6a5s4=",
    }
    baseline_args = [sys.executable, "-m", "bench._baseline_server", "--database-url", database_url]
    async with process([sys.executable, "-m", "wfapp.cli", "serve"], env, f"{api}/health"):
        # Names of their own, so that a database used before (PostgreSQL) takes them.
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        async with aiohttp.ClientSession() as session:
            await session.post(f"{api}/api/v1/agents", json={"name": prefix, "url": "http://127.0.0.1:9/"})
            body = {"name": prefix, "steps": [{"id": "a", "agent": prefix, "input": {"x": "{{ input.x }}"}}]}
            async with session.post(f"{api}/api/v1/workflows", json=body) as response:
                workflow_id = (await response.json())["id"]
        names = itertools.count()

        def new_agent() -> dict[str, str]:
            return {"name": f"{prefix}-{next(names)}", "url": "http://127.0.0.1:9/"}

        requests: dict[str, Callable[[aiohttp.ClientSession], Any]] = {
            BASELINE: lambda s: s.get(f"{base}/w/{workflow_id}"),
            WRITE_FLOOR: lambda s: s.post(f"{base}/a", json=new_agent()),
            "GET /api/v1/workflows/{id}": lambda s: s.get(f"{api}/api/v1/workflows/{workflow_id}"),
            "POST /api/v1/agents": lambda s: s.post(f"{api}/api/v1/agents", json=new_agent()),
        }
        loads = {label: Load() for label in requests}
        async with process([*baseline_args, "--port", str(base_port)], {}, f"{base}/w/{workflow_id}"):
            # Taking turns in short windows, every kind of request meets the same background load.
            for _ in range(rounds):
                for label, make_request in requests.items():
                    await loads[label].add(make_request, connections, seconds / rounds)
    report(database_url.split("+")[0], loads)


def report(kind: str, loads: dict[str, Load]) -> None:
    floor, write_floor = loads.pop(BASELINE), loads.pop(WRITE_FLOOR)
    for label, figures in ((BASELINE, floor), (WRITE_FLOOR, write_floor)):
        print(
            f"[{kind}] {label}: {figures.per_second:.0f} req/s, "
            f"p50 {figures.percentile(0.5):.1f} ms, p99 {figures.percentile(0.99):.1f} ms"
        )
    for label, figures in loads.items():
        ratio = figures.per_second / floor.per_second
        of_write = figures.per_second / write_floor.per_second
        writes = f", {of_write:.0%} of the bare write" if label.startswith("POST") else ""
        print(
            f"[{kind}] {label}: {figures.per_second:.0f} req/s "
            f"({ratio:.0%} of baseline, target >= {TARGET_RATIO:.0%}{writes}), "
            f"p50 {figures.percentile(0.5):.1f} ms, p99 {figures.percentile(0.99):.1f} ms "
            f"(target <= {TARGET_P99_MS:.0f} ms)"
        )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench api", description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0, help="time given to each kind of request")
    parser.add_argument("--rounds", type=int, default=6, help="turns the kinds of request take, sharing --seconds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("WF_BENCH_POSTGRES_URL"),
        help="a migrated-or-empty PostgreSQL database (postgresql+asyncpg://...); omitted: SQLite only",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(
            measure(f"sqlite+aiosqlite:///{Path(folder) / 'wf.db'}", args.connections, args.seconds, args.rounds)
        )
    if args.postgres_url:
        from wfapp.migration import migrate

        migrate(args.postgres_url)
        asyncio.run(measure(args.postgres_url, args.connections, args.seconds, args.rounds))
    return 0
