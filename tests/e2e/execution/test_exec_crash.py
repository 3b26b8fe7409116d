"""Contract §7: a `wf serve` process killed mid-run loses nothing; a restart finishes the run, calling again
only the step that was in flight (at-least-once, with the same Idempotency-Key)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import attrs
import pytest
from aiohttp.test_utils import unused_port

from e2e.execution.service_api import Wf, calls_of, step
from fixtures.agents import DemoAgent

# A fixed Fernet key: it protects nothing but this test's data.
SECRET_KEY = "tA9CiVQDG_YkLJ2oa7HdNYsDh6WEgRTlPEdyXkljJv8="
LEASE_SECONDS = 2
STARTUP_SECONDS = 30


@attrs.define
class Servers:
    """`wf serve` processes on one database; every one still alive is killed when the test ends."""

    database_url: str
    logs: Path
    started: list[subprocess.Popen[bytes]] = attrs.field(factory=list)

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[tuple[subprocess.Popen[bytes], Wf]]:
        """A new `wf serve` process, once it answers, and a client of its API."""
        port = unused_port()
        process, log = self._spawn(port)
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as session:
            async with asyncio.timeout(STARTUP_SECONDS):
                while not await _healthy(session):
                    assert process.poll() is None, f"wf serve exited: {_read(log)}"
                    await asyncio.sleep(0.1)
            yield process, Wf(session)

    def _spawn(self, port: int) -> tuple[subprocess.Popen[bytes], Path]:
        environment = {
            **os.environ,
            "WF_DATABASE_URL": self.database_url,
            "WF_PORT": str(port),
            "WF_LEASE_SECONDS": str(LEASE_SECONDS),
            "WF_SECRET_KEY": SECRET_KEY,
        }
        log = self.logs / f"serve-{len(self.started)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(Path(sys.executable).with_name("wf")), "serve"],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.started.append(process)
        return process, log

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


async def _healthy(session: aiohttp.ClientSession) -> bool:
    try:
        async with session.get("/health") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


def _read(log: Path) -> str:
    return log.read_text(errors="replace")


# Embedded only (`service_database_url`, not `deployment`): it kills a `wf serve` that executes runs itself;
# the distributed counterpart, a `wf worker` killed mid-step, is in tests/distributed/test_distributed_faults.py.
@pytest.fixture
def servers(service_database_url: str, tmp_path: Path) -> Iterator[Servers]:
    """On a SQLite file and on a PostgreSQL database (which `wf serve` migrates as it starts)."""
    started = Servers(database_url=service_database_url, logs=tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


async def test_a_run_survives_a_killed_server(servers: Servers, demo_agent: DemoAgent) -> None:
    async with servers.serve() as (process, wf):
        await wf.demo_agents(demo_agent.base_url)
        run = await wf.start(
            step("first", "echo", input={"n": 1}),
            step("second", "sleep", "first", input={"seconds": 2}),
            step("third", "echo", "second", input="{{ steps.second.output }}"),
        )
        await demo_agent.wait_for_calls(lambda calls: len(calls_of(demo_agent, "second")) == 1)
        assert (await wf.steps(run["id"]))["first"]["status"] == "succeeded"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    async with servers.serve() as (_, wf):
        finished = await wf.wait(run["id"], within=20)
    assert (finished["status"], finished["attempt"]) == ("succeeded", 1), finished
    assert finished["output"] == {"third": {"seconds": 2}}
    assert len(calls_of(demo_agent, "first")) == 1
    assert len(calls_of(demo_agent, "third")) == 1
    second = calls_of(demo_agent, "second")
    assert len(second) == 2
    assert {call.idempotency_key for call in second} == {f"{run['id']}:second:1"}
