"""The demo agent's own endpoints, spoken to with a plain aiohttp client."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import pytest

from adapters_http.demo_agent import run_demo_agent, uppercased
from fixtures.agents import DemoAgent


async def test_calls_lists_every_request_and_delete_forgets_them(demo_agent: DemoAgent) -> None:
    sent_at = datetime.now(UTC)
    headers = {"Idempotency-Key": "run:step:1", "X-Request-ID": "req-1", "X-API-Key": "k", "X-Other": "no"}
    async with aiohttp.ClientSession() as client:
        async with client.post(demo_agent.url("/echo"), json={"input": {"a": 1}}, headers=headers) as echoed:
            assert await echoed.json() == {"a": 1}
        async with client.get(demo_agent.url("/health")) as health:
            assert await health.json() == {"status": "ok"}
        async with client.get(demo_agent.url("/calls")) as listed:
            calls = await listed.json()
        async with client.delete(demo_agent.url("/calls")) as cleared:
            assert cleared.status == 204
        async with client.get(demo_agent.url("/calls")) as listed_again:
            assert await listed_again.json() == []

    assert calls[0] == {
        "method": "POST",
        "path": "/echo",
        "idempotency_key": "run:step:1",
        "request_id": "req-1",
        "headers": {"x-api-key": "k", "user-agent": calls[0]["headers"]["user-agent"]},
        "body": {"input": {"a": 1}},
        "received_at": calls[0]["received_at"],
        "aborted": False,
    }
    assert sent_at <= datetime.fromisoformat(calls[0]["received_at"]) <= datetime.fromisoformat(calls[1]["received_at"])
    assert [call["path"] for call in calls] == ["/echo", "/health"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/sleep", {"input": {"seconds": "long"}}),
        ("/fail", {"input": {"status": 200}}),
        ("/big", {"input": {"bytes": -1}}),
        ("/redirect", {"input": {}}),
        ("/text", {"input": ["not", "an", "object"]}),
    ],
)
async def test_bad_input_is_a_400(demo_agent: DemoAgent, path: str, body: object) -> None:
    async with aiohttp.ClientSession() as client, client.post(demo_agent.url(path), json=body) as response:
        assert response.status == 400


async def test_a_body_that_is_not_json_is_recorded_as_text(demo_agent: DemoAgent) -> None:
    async with aiohttp.ClientSession() as client, client.post(demo_agent.url("/echo"), data=b"plain") as response:
        assert await response.json() is None

    assert demo_agent.calls()[0].body == "plain"


def test_uppercased_reaches_every_nested_string() -> None:
    assert uppercased({"a": ["b", {"c": "d", "n": 1}], "e": None}) == {"a": ["B", {"c": "D", "n": 1}], "e": None}


async def test_run_demo_agent_serves_until_cancelled(unused_tcp_port: int) -> None:
    serving = asyncio.create_task(run_demo_agent("127.0.0.1", unused_tcp_port))
    url = f"http://127.0.0.1:{unused_tcp_port}/health"
    async with aiohttp.ClientSession() as client:
        async with asyncio.timeout(5):
            while True:
                try:
                    async with client.get(url) as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.get(url)
