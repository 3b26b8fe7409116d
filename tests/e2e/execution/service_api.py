"""The service under test as the execution tests use it: agents, workflows, runs, waiting for runs."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, TypeVar

import attrs
from aiohttp import ClientResponse, ClientSession
from aiohttp.test_utils import TestClient

from adapters_http.demo_agent import RecordedCall
from fixtures.agents import DemoAgent

T = TypeVar("T")
# The in-process test server's client, or a session on a `wf serve` process (both take paths).
Client = TestClient[Any, Any] | ClientSession
Json = dict[str, Any]

RUNS = "/api/v1/runs"
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
# Agents retry quickly in these tests: the backoff is not what they are about.
FAST_RETRY: Json = {"max_attempts": 3, "initial_backoff_ms": 10, "max_backoff_ms": 50}
DEMO_PATHS = ("echo", "sleep", "fail", "text", "big")


def step(step_id: str, agent: str, *depends_on: str, **fields: Any) -> Json:
    """A step definition calling `agent` after `depends_on`."""
    return {"id": step_id, "agent": agent, "depends_on": list(depends_on), **fields}


def calls_of(agent: DemoAgent, step_id: str) -> list[RecordedCall]:
    """The demo agent's calls for step `step_id`, oldest first."""
    return [call for call in agent.calls() if isinstance(call.body, dict) and call.body.get("step_id") == step_id]


def attempts_of(step: Json) -> list[tuple[int, int | None, str | None]]:
    """Each recorded attempt of a step as (attempt, http_status, error code)."""
    return [
        (attempt["attempt"], attempt["http_status"], attempt["error"] and attempt["error"]["code"])
        for attempt in step["attempts"]
    ]


def finished(run: Json) -> bool:
    return run["status"] in FINISHED


def types_of(events: list[Json]) -> list[tuple[str, str | None]]:
    """Each event as (type, step_id)."""
    return [(event["type"], event["step_id"]) for event in events]


async def body_of(response: ClientResponse, status: int) -> Any:
    """The JSON body of `response`, after checking its status."""
    body = await response.json(content_type=None)
    assert response.status == status, body
    return body


async def eventually(probe: Callable[[], Awaitable[T]], condition: Callable[[T], bool], within: float = 15.0) -> T:
    """What `probe` returns once `condition` holds for it; fails the test after `within` seconds."""
    async with asyncio.timeout(within):
        while not condition(value := await probe()):  # noqa: ASYNC110 - the service is watched over HTTP
            await asyncio.sleep(0.02)
    return value


@attrs.frozen
class Outcome:
    """A finished run and its steps by id."""

    run: Json
    steps: dict[str, Json]


@attrs.define
class Wf:
    """A client of the service's API with the requests these tests make again and again.

    The agents and workflows it saves are named with a prefix of its own, since several tests may share a
    deployment; a test names them without it (`step("s", "echo")` calls the agent it saved as `echo`).
    """

    client: Client
    _prefix: str = attrs.field(factory=lambda: f"t{uuid.uuid4().hex[:8]}-", init=False)
    _numbers: Iterator[int] = attrs.field(factory=itertools.count, init=False)

    def named(self, name: str) -> str:
        """The name under which the service knows this client's agent or workflow `name`."""
        return self._prefix + name

    def _document(self, name: str, steps: tuple[Json, ...], fields: Json) -> Json:
        """A workflow document of `steps`, calling this client's agents."""
        return {"name": name, "steps": [{**step, "agent": self.named(step["agent"])} for step in steps], **fields}

    async def agent(self, url: str, name: str, **fields: Any) -> Json:
        body = {"name": self.named(name), "url": url, "timeout_ms": 5000, "retry_config": FAST_RETRY, **fields}
        agent: Json = await body_of(await self.client.post("/api/v1/agents", json=body), 201)
        return agent

    async def demo_agents(self, base_url: str) -> None:
        """One agent per demo agent endpoint, named after it (`echo`, `sleep`, `fail`, ...)."""
        for path in DEMO_PATHS:
            await self.agent(f"{base_url.rstrip('/')}/{path}", path)

    async def workflow(self, *steps: Json, **fields: Any) -> Json:
        document = self._document(self.named(f"workflow-{next(self._numbers)}"), steps, fields)
        workflow: Json = await body_of(await self.client.post("/api/v1/workflows", json=document), 201)
        return workflow

    async def new_version(self, workflow: Json, *steps: Json) -> Json:
        """Save `steps` as the next version of `workflow`."""
        document = self._document(workflow["name"], steps, {})
        saved: Json = await body_of(await self.client.put(f"/api/v1/workflows/{workflow['id']}", json=document), 200)
        return saved

    async def execute(
        self, workflow_id: str, input: Any = None, *, headers: Mapping[str, str] | None = None, **body: Any
    ) -> ClientResponse:
        payload = {"input": {} if input is None else input, **body}
        return await self.client.post(f"/api/v1/workflows/{workflow_id}/execute", json=payload, headers=headers)

    async def start(self, *steps: Json, input: Any = None, headers: Mapping[str, str] | None = None) -> Json:
        """Save a workflow of `steps` and execute it: the pending run."""
        workflow = await self.workflow(*steps)
        run: Json = await body_of(await self.execute(workflow["id"], input, headers=headers), 202)
        return run

    async def finish(self, *steps: Json, input: Any = None, **fields: Any) -> Outcome:
        """Save a workflow of `steps`, execute it and wait for the run to finish."""
        workflow = await self.workflow(*steps, **fields)
        run = await body_of(await self.execute(workflow["id"], input), 202)
        return await self.outcome(run["id"])

    async def outcome(self, run_id: str) -> Outcome:
        """The run once it finished, and its steps."""
        run = await self.wait(run_id)
        return Outcome(run=run, steps=await self.steps(run_id))

    async def run(self, run_id: str) -> Json:
        run: Json = await body_of(await self.client.get(f"{RUNS}/{run_id}"), 200)
        return run

    async def steps(self, run_id: str) -> dict[str, Json]:
        page = await body_of(await self.client.get(f"{RUNS}/{run_id}/steps", params={"limit": 100}), 200)
        return {item["step_id"]: item for item in page["items"]}

    async def logs(self, run_id: str) -> list[Json]:
        page = await body_of(await self.client.get(f"{RUNS}/{run_id}/logs", params={"limit": 100}), 200)
        assert page["total"] <= 100, "the test expects fewer events than a page holds"
        events: list[Json] = page["items"]
        return events

    async def wait(self, run_id: str, until: Callable[[Json], bool] = finished, within: float = 15.0) -> Json:
        """The run once `until` holds for it (by default: once it finished)."""
        return await eventually(lambda: self.run(run_id), until, within)

    async def wait_for_step(self, run_id: str, step_id: str, status: str) -> Json:
        """The step once it reached `status`."""
        steps = await eventually(lambda: self.steps(run_id), lambda steps: steps[step_id]["status"] == status)
        return steps[step_id]

    async def cancel(self, run_id: str, headers: Mapping[str, str] | None = None) -> ClientResponse:
        return await self.client.post(f"{RUNS}/{run_id}/cancel", headers=headers)

    async def retry(
        self, run_id: str, body: Json | None = None, headers: Mapping[str, str] | None = None
    ) -> ClientResponse:
        return await self.client.post(f"{RUNS}/{run_id}/retry", json=body, headers=headers)
