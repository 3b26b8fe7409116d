"""The distributed stack as real processes: `wf serve` (distributed) and `wf worker`s on PostgreSQL and a broker.

Each stack has topics, a consumer group and a secret key of its own, so stacks on one broker do not see each
other. Every process it starts is killed when the stack closes, whatever the test did. `SharedStacks` keeps
stacks running across the tests that share them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import attrs
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families

from fixtures.kafka import free_port

START_SECONDS = 30.0


ENTRY_POINT = "wfapp.cli"
FINISHED = ("succeeded", "failed", "cancelled")

# Short group timeouts keep Tansu's joins quick (see fixtures.kafka); short leases keep takeovers quick.
FAST = {
    "WF_LEASE_SECONDS": "2",
    "WF_KAFKA_SESSION_TIMEOUT_MS": "1000",
    "WF_KAFKA_HEARTBEAT_INTERVAL_MS": "200",
    "WF_KAFKA_REBALANCE_TIMEOUT_MS": "1000",
    "WF_KAFKA_REQUEST_TIMEOUT_MS": "2000",
    "WF_KAFKA_RUNS_PARTITIONS": "6",
    "WF_SWEEP_INTERVAL_SECONDS": "0.5",
    "WF_SWEEP_PENDING_AFTER_SECONDS": "60",
    "WF_SHUTDOWN_GRACE_SECONDS": "5",
    "WF_LOG_LEVEL": "INFO",
}


@attrs.define
class Process:
    """A started `python -m wfapp.cli ...` process and its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    health_url: str

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        if self.alive:
            self.popen.send_signal(sig)

    def kill(self) -> None:
        if self.alive:
            self.popen.kill()
        self.popen.wait()

    async def wait_exit(self, within: float = 30.0) -> int:
        """The exit code, once the process ended (killed if it does not `within` seconds)."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.popen.wait), within)
        except TimeoutError:
            self.kill()
            raise AssertionError(f"{self.name} did not exit in {within} s:\n{self.log()[-3000:]}") from None


@attrs.define
class Stack:
    """Starts the API and workers of one distributed deployment, and talks to its API."""

    tmp_path: Path
    database_url: str
    bootstrap: str
    extra_env: dict[str, str] = attrs.Factory(dict)
    processes: list[Process] = attrs.Factory(list)
    session: aiohttp.ClientSession | None = None
    api_url: str = ""
    suffix: str = attrs.Factory(lambda: uuid.uuid4().hex[:8])
    # Every process of a deployment needs the same key to read the agent secrets another one stored.
    secret_key: str = attrs.Factory(lambda: Fernet.generate_key().decode())

    @property
    def runs_topic(self) -> str:
        return f"runs-{self.suffix}"

    @property
    def group_id(self) -> str:
        return f"workers-{self.suffix}"

    def env(self, **more: str) -> dict[str, str]:
        return {
            **os.environ,
            **FAST,
            "WF_DATABASE_URL": self.database_url,
            "WF_KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "WF_KAFKA_RUNS_TOPIC": self.runs_topic,
            "WF_KAFKA_CONTROL_TOPIC": f"control-{self.suffix}",
            "WF_KAFKA_GROUP_ID": self.group_id,
            "WF_SECRET_KEY": self.secret_key,
            **self.extra_env,
            **more,
        }

    def _spawn(self, name: str, command: str, port: int, **env: str) -> Process:
        log_path = self.tmp_path / f"{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", ENTRY_POINT, command],
                env=self.env(**env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process = Process(name=name, popen=popen, log_path=log_path, health_url=f"http://127.0.0.1:{port}/health")
        self.processes.append(process)
        return process

    async def start_api(self) -> Process:
        port = free_port()
        process = self._spawn("api", "serve", port, WF_PORT=str(port))
        self.api_url = f"http://127.0.0.1:{port}"
        await self.wait_ready(process)
        return process

    async def start_worker(self, name: str | None = None, *, wait: bool = True, **env: str) -> Process:
        port = free_port()
        name = name or f"worker-{len(self.processes)}"
        process = self._spawn(name, "worker", port, WF_HEALTH_PORT=str(port), **env)
        if wait:
            await self.wait_ready(process)
        return process

    async def start_all(self, workers: int) -> None:
        """The API and `workers` workers, started side by side."""
        await asyncio.gather(self.start_api(), *(self.start_worker() for _ in range(workers)))

    async def wait_ready(self, process: Process) -> None:
        """Wait until `process` answers its readiness endpoint with a 200."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if not process.alive:
                raise AssertionError(f"{process.name} exited:\n{process.log()[-3000:]}")
            try:
                async with self.http.get(process.health_url + "/ready") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"{process.name} was not ready in {START_SECONDS} s:\n{process.log()[-3000:]}")

    @property
    def http(self) -> aiohttp.ClientSession:
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self.session

    async def close(self) -> None:
        """Stop every process: SIGTERM (a graceful stop), then SIGKILL for any still running after 15 s."""
        for process in self.processes:
            process.signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(process.popen.wait, max(0.1, deadline - time.monotonic()))
            process.kill()
        if self.session is not None:
            await self.session.close()

    # The API

    async def call(self, method: str, path: str, expect: int, body: Any = None) -> Any:
        async with self.http.request(method, self.api_url + path, json=body) as response:
            payload = await response.json(content_type=None)
            assert response.status == expect, (response.status, payload)
            return payload

    async def workflow(self, agent_url: str, seconds: list[float]) -> str:
        """A linear workflow of `len(seconds)` steps (`s0`, `s1`...), each calling the demo agent's `/sleep`.

        `agent_url` is the agent's base URL; step `sN` sleeps `seconds[N]` and answers its input.
        """
        name = f"sleeper-{uuid.uuid4().hex[:8]}"
        await self.call("POST", "/api/v1/agents", 201, {"name": name, "url": agent_url.rstrip("/") + "/sleep"})
        steps: list[dict[str, Any]] = []
        for index, step_seconds in enumerate(seconds):
            step: dict[str, Any] = {"id": f"s{index}", "agent": name, "input": {"seconds": step_seconds}}
            if index:
                step["depends_on"] = [f"s{index - 1}"]
            steps.append(step)
        document = {"name": f"chain-{uuid.uuid4().hex[:8]}", "steps": steps}
        return str((await self.call("POST", "/api/v1/workflows", 201, document))["id"])

    async def execute(self, workflow_id: str, run_input: Any = None) -> str:
        run = await self.call("POST", f"/api/v1/workflows/{workflow_id}/execute", 202, {"input": run_input or {}})
        assert run["status"] == "pending"
        return str(run["id"])

    async def run(self, run_id: str) -> dict[str, Any]:
        return dict(await self.call("GET", f"/api/v1/runs/{run_id}", 200))

    async def wait_finished(self, run_ids: list[str], within: float = 60.0) -> dict[str, dict[str, Any]]:
        """Every run once finished; fails with the unfinished ones (and the logs) after `within` seconds."""
        finished: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for run_id in run_ids:
                if run_id not in finished:
                    run = await self.run(run_id)
                    if run["status"] in FINISHED:
                        finished[run_id] = run
            if len(finished) == len(run_ids):
                return finished
            await asyncio.sleep(0.2)
        waiting = [run_id for run_id in run_ids if run_id not in finished]
        logs = "\n".join(f"--- {p.name}\n{p.log()[-2000:]}" for p in self.processes)
        raise AssertionError(f"{len(waiting)} runs unfinished after {within} s: {waiting[:5]}\n{logs}")

    async def steps(self, run_id: str) -> list[dict[str, Any]]:
        return list((await self.call("GET", f"/api/v1/runs/{run_id}/steps", 200))["items"])

    async def events(self, run_id: str) -> list[dict[str, Any]]:
        return list((await self.call("GET", f"/api/v1/runs/{run_id}/logs?limit=100", 200))["items"])

    async def holder(self, run_id: str, within: float = 20.0) -> str:
        """The lease owner that started `run_id` (from its run_started event), once one did."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for event in await self.events(run_id):
                if event["type"] == "run_started":
                    return str(event["data"]["worker"])
            await asyncio.sleep(0.05)
        raise AssertionError(f"run {run_id} did not start within {within} s")

    async def metric(self, base_url: str, name: str, **labels: str) -> float:
        """The sum of the samples called `name` (with these labels) on `base_url`/metrics."""
        async with self.http.get(base_url + "/metrics") as response:
            assert response.status == 200, await response.text()
            text = await response.text()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items())
        )

    def worker_of(self, owner: str) -> Process:
        """The worker process whose lease owner name is `owner` (it carries the pid)."""
        for process in self.processes:
            if f"-{process.pid}-" in owner:
                return process
        raise AssertionError(f"no process of this stack is {owner}")


class SharedStacks:
    """Stacks shared by many tests: one per set of `WF_*` variables, started when first asked for, closed together.

    Each stack has a database of its own (`new_database()` makes one): stacks on one database would take each
    other's runs, since every API's relay sends whatever the shared outbox holds to its own stack's topics.

    pytest-asyncio gives each test an event loop of its own, and a stack's HTTP session belongs to the loop
    it was made on: so the stacks live on a loop of their own, in a thread, which tests reach from theirs.
    """

    def __init__(self, tmp_path: Path, new_database: Callable[[], str], bootstrap: str, workers: int) -> None:
        self.tmp_path = tmp_path
        self.new_database = new_database
        self.bootstrap = bootstrap
        self.workers = workers
        self._stacks: dict[frozenset[tuple[str, str]], Stack] = {}
        self._loop = asyncio.new_event_loop()
        self._lock = asyncio.Lock()
        self._thread = threading.Thread(target=self._loop.run_forever, name="shared-stacks", daemon=True)
        self._thread.start()

    async def api_url(self, **env: str) -> str:
        """The API address of the stack whose processes have these variables set, started if need be."""
        future = asyncio.run_coroutine_threadsafe(self._stack(env), self._loop)
        return (await asyncio.wrap_future(future)).api_url

    async def _stack(self, env: dict[str, str]) -> Stack:
        key = frozenset(env.items())
        async with self._lock:
            if key not in self._stacks:
                logs = self.tmp_path / f"stack-{len(self._stacks)}"
                logs.mkdir()
                database_url = await asyncio.to_thread(self.new_database)
                stack = Stack(tmp_path=logs, database_url=database_url, bootstrap=self.bootstrap, extra_env=env)
                try:
                    await stack.start_all(self.workers)
                except BaseException:
                    await stack.close()
                    raise
                self._stacks[key] = stack
            return self._stacks[key]

    def close(self) -> None:
        """Stop every stack, then the loop; blocks, so call it outside any event loop."""
        asyncio.run_coroutine_threadsafe(self._close_stacks(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _close_stacks(self) -> None:
        await asyncio.gather(*(stack.close() for stack in self._stacks.values()))
