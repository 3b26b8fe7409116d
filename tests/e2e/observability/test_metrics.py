"""Every metric of contract §6 moves when its event happens."""

from __future__ import annotations

import asyncio
import re

from e2e.test_walkthrough import wait_until_finished
from fixtures.agents import DemoAgent
from fixtures.service import RunningService


async def scrape(service: RunningService) -> dict[str, float]:
    response = await service.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for line in (await response.text()).splitlines():
        match = re.fullmatch(r"([a-z_]+(?:\{[^}]*\})?) (\S+)", line)
        if match and not line.startswith("#"):
            samples[match.group(1)] = float(match.group(2))
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    return sum(
        value
        for sample, value in samples.items()
        if (sample == name or sample.startswith(name + "{")) and all(label in sample for label in wanted)
    )


async def test_metrics_move_with_requests_runs_steps_and_agent_calls(
    service: RunningService, demo_agent: DemoAgent
) -> None:
    client = service.client
    before = await scrape(service)
    await client.post("/api/v1/agents", json={"name": "echo", "url": demo_agent.url("/echo")})
    await client.post(
        "/api/v1/agents", json={"name": "broken", "url": demo_agent.url("/fail"), "retry_config": {"max_attempts": 1}}
    )
    workflows = {}
    for name, agent in (("fine", "echo"), ("doomed", "broken")):
        body = {"name": name, "steps": [{"id": "only", "agent": agent, "input": {"status": 400}}]}
        workflows[name] = (await (await client.post("/api/v1/workflows", json=body)).json())["id"]
    for name in ("fine", "doomed"):
        run = await (await client.post(f"/api/v1/workflows/{workflows[name]}/execute", json={})).json()
        await wait_until_finished(service, run["id"])

    after = await scrape(service)

    def grown(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert grown("wf_runs_started_total") == 2
    assert grown("wf_runs_finished_total", status="succeeded") == 1
    assert grown("wf_runs_finished_total", status="failed") == 1
    assert grown("wf_run_seconds_count") == 2
    assert total(after, "wf_step_seconds_count", status="succeeded") >= 1
    assert total(after, "wf_agent_call_seconds_count", agent="echo", outcome="ok") == 1
    assert total(after, "wf_agent_call_seconds_count", agent="broken", outcome="agent_error") == 1
    assert total(after, "wf_runs_in_progress") == 0
    assert total(after, "wf_http_requests_total", route="/api/v1/agents", method="POST", status="201") == 2
    assert total(after, "wf_http_request_seconds_count", route="/api/v1/workflows", method="POST") == 2
    assert "wf_outbox_backlog" in after


async def test_runs_in_progress_is_what_the_engine_holds_while_it_runs(
    service: RunningService, demo_agent: DemoAgent
) -> None:
    client = service.client
    await client.post("/api/v1/agents", json={"name": "slow", "url": demo_agent.url("/sleep")})
    body = {"name": "slow-one", "steps": [{"id": "only", "agent": "slow", "input": {"seconds": 1}}]}
    workflow_id = (await (await client.post("/api/v1/workflows", json=body)).json())["id"]
    run = await (await client.post(f"/api/v1/workflows/{workflow_id}/execute", json={})).json()
    await demo_agent.wait_for_calls(lambda calls: any(call.path == "/sleep" for call in calls))

    during = await scrape(service)
    await wait_until_finished(service, run["id"])
    async with asyncio.timeout(5):  # the engine leaves the run just after its last commit
        while total(await scrape(service), "wf_runs_in_progress"):  # noqa: ASYNC110 (a scrape is a request)
            await asyncio.sleep(0.05)

    assert total(during, "wf_runs_in_progress") == 1
