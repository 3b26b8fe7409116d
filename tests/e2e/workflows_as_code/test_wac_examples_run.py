"""The example workflows, applied with `wf workflows apply --url`, run to the outputs they promise.

The example agents point at the demo agent (`wf demo-agent`, http://127.0.0.1:8081); here they point
at a demo agent on a free port, as the README walk-through test does.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from fixtures.agents import DemoAgent
from fixtures.service import RunningService
from integration.cli.applying import EXAMPLE_NAMES, EXAMPLE_WORKFLOWS, apply, example_agents

DEMO_AGENT = "http://127.0.0.1:8081/"

EXPECTED_OUTPUTS = {
    "welcome-user": {"to": "ada@example.com", "message": "Welcome aboard, ADA! You are in team engines."},
    "triage-ticket": {"reply": "Ticket T-1001 is a refund ticket", "refund": "succeeded", "escalation": "skipped"},
    "nightly-report": {
        "report": {"date": "2025-01-31", "orders": 42, "tickets": 7, "incidents": 0},
        "headline": "REPORT FOR 2025-01-31: 42 ORDERS",
        "notified": {"chat": "succeeded", "pager": "failed"},
    },
}


async def run_to_end(service: RunningService, workflow_id: str, body: Any) -> dict[str, Any]:
    response = await service.client.post(f"/api/v1/workflows/{workflow_id}/execute", json=body)
    assert response.status == 202, await response.text()
    run_id = (await response.json())["id"]
    async with asyncio.timeout(20):
        while True:
            run: dict[str, Any] = await (await service.client.get(f"/api/v1/runs/{run_id}")).json()
            if run["status"] in ("succeeded", "failed", "cancelled"):
                return run
            await asyncio.sleep(0.05)


async def test_the_example_workflows_apply_and_run(service: RunningService, demo_agent: DemoAgent) -> None:
    for agent in example_agents():
        agent["url"] = agent["url"].replace(DEMO_AGENT, demo_agent.url("/"))
        response = await service.client.post("/api/v1/agents", json=agent)
        assert response.status == 201, await response.text()

    applied = await apply("-f", EXAMPLE_WORKFLOWS, "--url", str(service.client.make_url("")))
    assert applied.status == 0, applied.stderr
    listed = await (await service.client.get("/api/v1/workflows", params={"sort": "name"})).json()
    ids = {item["name"]: item["id"] for item in listed["items"]}
    assert sorted(ids) == EXAMPLE_NAMES

    runs = await asyncio.gather(
        *(
            run_to_end(service, ids[name], json.loads((EXAMPLE_WORKFLOWS / "inputs" / f"{name}.json").read_text()))
            for name in EXAMPLE_NAMES
        )
    )
    for name, run in zip(EXAMPLE_NAMES, runs, strict=True):
        assert (run["status"], run["output"]) == ("succeeded", EXPECTED_OUTPUTS[name]), (name, run)

    # The flaky chat webhook answered 503 twice, and the step's retry override outlasted it.
    chat_calls = [call for call in demo_agent.calls("/fail") if call.input and call.input.get("channel")]
    assert len(chat_calls) == 3


def test_every_example_has_an_input_to_run_it_with() -> None:
    assert sorted(path.stem for path in (EXAMPLE_WORKFLOWS / "inputs").glob("*.json")) == EXAMPLE_NAMES
    assert sorted(Path(path).stem for path in EXAMPLE_WORKFLOWS.glob("*.yaml")) == EXAMPLE_NAMES
