"""The README's walk-through, request for request: a real server, a real agent, a run that succeeds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from fixtures.agents import DemoAgent
from fixtures.service import RunningService

WALKTHROUGH = Path(__file__).parents[2] / "examples" / "walkthrough"


def example(name: str, demo_agent: DemoAgent) -> Any:
    """An example file, with the demo agent's address the README assumes replaced by the test's."""
    text = (WALKTHROUGH / name).read_text().replace("http://127.0.0.1:8081/", demo_agent.url("/"))
    return json.loads(text)


async def test_readme_walkthrough(service: RunningService, demo_agent: DemoAgent) -> None:
    client = service.client
    for agent_file in ("agent-shouter.json", "agent-echo.json"):
        response = await client.post("/api/v1/agents", json=example(agent_file, demo_agent))
        assert response.status == 201, await response.text()

    response = await client.post("/api/v1/workflows", json=example("workflow-greet.json", demo_agent))
    assert response.status == 201, await response.text()
    workflow = await response.json()

    response = await client.post(
        f"/api/v1/workflows/{workflow['id']}/execute", json=example("execute-greet.json", demo_agent)
    )
    assert response.status == 202, await response.text()
    run = await response.json()
    assert response.headers["Location"].endswith(f"/api/v1/runs/{run['id']}")

    finished = await wait_until_finished(service, run["id"])
    assert finished["status"] == "succeeded", finished
    assert finished["output"] == {"greeting": "Hello, ADA!"}

    response = await client.get(f"/api/v1/runs/{run['id']}/steps")
    steps = {step["step_id"]: step for step in (await response.json())["items"]}
    assert steps["shout"]["output"] == {"text": "ADA"}
    assert steps["greet"]["input"] == {"message": "Hello, ADA!"}
    assert steps["greet"]["status"] == "succeeded"


async def wait_until_finished(service: RunningService, run_id: str, seconds: float = 20.0) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            response = await service.client.get(f"/api/v1/runs/{run_id}")
            run: dict[str, Any] = await response.json()
            if run["status"] in ("succeeded", "failed", "cancelled"):
                return run
            await asyncio.sleep(0.05)
