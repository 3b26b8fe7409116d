"""HttpAgentInvoker against the demo agent on loopback: what an agent receives and how answers are judged."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import attrs
import pytest

from adapters_http.client import AgentClientSettings, HttpAgentInvoker
from fixtures.agents import DemoAgent, InvokerFactory, agent_at, call_to
from wfcore.domain.agents import ApiKeyAuth, AuthConfig, BasicAuth, BearerAuth, NoAuth, RetryPolicy

BASIC_ADA = base64.b64encode(b"ada:pw:1").decode()


async def test_an_attempt_posts_the_contract_body_and_headers(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    call = call_to(agent_at(demo_agent.url("/echo")), {"ticket": {"id": 7, "body": "refund please"}})

    reply = await invoker.invoke(call)

    assert reply.ok
    assert reply.http_status == 200
    assert reply.output == {"ticket": {"id": 7, "body": "refund please"}}
    [received] = demo_agent.calls("/echo")
    assert received.method == "POST"
    assert received.body == {
        "run_id": call.run_id,
        "step_id": "summarise",
        "attempt": 1,
        "workflow": {"id": call.workflow_id, "name": "triage-ticket", "version": 3},
        "input": {"ticket": {"id": 7, "body": "refund please"}},
    }
    assert received.idempotency_key == f"{call.run_id}:summarise:1"
    assert received.request_id == call.request_id
    assert received.headers["user-agent"].startswith("wf/")
    assert "authorization" not in received.headers


async def test_without_a_request_id_no_x_request_id_is_sent(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    await invoker.invoke(call_to(agent_at(demo_agent.url("/echo")), {}, request_id=None))

    assert demo_agent.calls("/echo")[0].request_id is None


async def test_the_configured_user_agent_is_sent(make_invoker: InvokerFactory, demo_agent: DemoAgent) -> None:
    invoker = make_invoker(AgentClientSettings(user_agent="wf/9.9.9"))

    await invoker.invoke(call_to(agent_at(demo_agent.url("/echo")), {}))

    assert demo_agent.calls("/echo")[0].headers["user-agent"] == "wf/9.9.9"


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (BearerAuth(token="s3cret"), {"authorization": "Bearer s3cret"}),
        (ApiKeyAuth(key="k-123"), {"x-api-key": "k-123"}),
        (BasicAuth(username="ada", password="pw:1"), {"authorization": "Basic " + BASIC_ADA}),
    ],
    ids=["bearer", "api_key", "basic"],
)
async def test_each_auth_type_arrives_as_its_headers(
    invoker: HttpAgentInvoker, demo_agent: DemoAgent, auth: AuthConfig, expected: dict[str, str]
) -> None:
    await invoker.invoke(call_to(agent_at(demo_agent.url("/echo"), auth=auth), {}))

    headers = demo_agent.calls("/echo")[0].headers
    assert {name: headers.get(name) for name in expected} == expected


async def test_an_api_key_goes_in_the_header_the_agent_names(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    agent = agent_at(demo_agent.url("/echo"), auth=ApiKeyAuth(key="k-9", header="X-Agent-Token"))

    reply = await invoker.invoke(call_to(agent, {}))

    assert reply.ok
    assert "x-api-key" not in demo_agent.calls("/echo")[0].headers
    assert isinstance(agent.auth, ApiKeyAuth)
    assert agent.auth.headers() == {"X-Agent-Token": "k-9"}


async def test_json_output_is_the_parsed_body(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    reply = await invoker.invoke(call_to(agent_at(demo_agent.url("/uppercase")), {"a": ["x", {"b": "y"}], "n": 1}))

    assert reply.output == {"a": ["X", {"b": "Y"}], "n": 1}


async def test_another_content_type_gives_the_body_as_text(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    reply = await invoker.invoke(call_to(agent_at(demo_agent.url("/text")), {"text": "plain words"}))

    assert reply.ok
    assert reply.output == {"text": "plain words"}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_response_over_the_limit_fails_without_retry(
    make_invoker: InvokerFactory, demo_agent: DemoAgent, chunked: bool
) -> None:
    invoker = make_invoker(AgentClientSettings(max_response_bytes=100_000))
    agent = agent_at(demo_agent.url("/big"))

    over = await invoker.invoke(call_to(agent, {"bytes": 100_001, "chunked": chunked}))
    at_limit = await invoker.invoke(call_to(agent, {"bytes": 100_000, "chunked": chunked}))

    assert over.error_code == "response_too_large"
    assert not over.retryable
    assert "100000 bytes" in (over.error_message or "")
    assert at_limit.ok
    assert at_limit.output == {"text": "x" * 100_000}


async def test_an_agent_slower_than_the_timeout_is_a_retryable_timeout(
    invoker: HttpAgentInvoker, demo_agent: DemoAgent
) -> None:
    agent = agent_at(demo_agent.url("/sleep"), timeout_ms=200)

    reply = await invoker.invoke(call_to(agent, {"seconds": 30}))

    assert reply.error_code == "timeout"
    assert reply.retryable
    assert reply.http_status is None
    assert "200 ms" in (reply.error_message or "")
    await demo_agent.wait_for_calls(lambda calls: calls[0].aborted)


async def test_a_status_in_retry_on_status_is_a_retryable_agent_error(
    invoker: HttpAgentInvoker, demo_agent: DemoAgent
) -> None:
    reply = await invoker.invoke(call_to(agent_at(demo_agent.url("/fail")), {"status": 500}))

    assert reply.error_code == "agent_error"
    assert reply.retryable
    assert reply.http_status == 500
    assert reply.retry_after_ms is None
    assert "failing as asked" in (reply.body_excerpt or "")


async def test_the_agents_retry_on_status_decides(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    agent = agent_at(demo_agent.url("/fail"), retry=RetryPolicy(retry_on_status=(409,)))

    conflict = await invoker.invoke(call_to(agent, {"status": 409}))
    server_error = await invoker.invoke(call_to(agent, {"status": 500}))

    assert conflict.retryable
    assert not server_error.retryable


async def test_another_error_status_fails_at_once_with_an_excerpt(
    invoker: HttpAgentInvoker, demo_agent: DemoAgent
) -> None:
    reply = await invoker.invoke(call_to(agent_at(demo_agent.url("/missing")), {}))

    assert reply.error_code == "agent_error"
    assert not reply.retryable
    assert reply.http_status == 404
    assert "404" in (reply.error_message or "")
    assert "Not Found" in (reply.body_excerpt or "")


async def test_the_excerpt_is_the_first_2_kib_of_the_body(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    reply = await invoker.invoke(call_to(agent_at(demo_agent.url("/fail")), {"status": 400, "padding": "x" * 5000}))

    assert reply.http_status == 400
    assert reply.body_excerpt is not None
    assert len(reply.body_excerpt) == 2048


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_in_seconds_is_carried(invoker: HttpAgentInvoker, demo_agent: DemoAgent, status: int) -> None:
    agent = agent_at(demo_agent.url("/fail"))

    reply = await invoker.invoke(call_to(agent, {"status": status, "retry_after": 7}))

    assert reply.retryable
    assert reply.http_status == status
    assert reply.retry_after_ms == 7000


async def test_retry_after_as_an_http_date_is_carried(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)

    reply = await invoker.invoke(call_to(agent_at(demo_agent.url("/fail")), {"status": 429, "retry_after": when}))

    assert reply.retry_after_ms is not None
    assert 50_000 < reply.retry_after_ms <= 60_000


async def test_retry_after_is_carried_when_the_agent_would_not_retry(
    invoker: HttpAgentInvoker, demo_agent: DemoAgent
) -> None:
    agent = agent_at(demo_agent.url("/fail"), retry=RetryPolicy(retry_on_status=()))

    reply = await invoker.invoke(call_to(agent, {"status": 503, "retry_after": 3}))

    assert not reply.retryable
    assert reply.retry_after_ms == 3000


async def test_retry_after_is_ignored_on_other_statuses(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    reply = await invoker.invoke(call_to(agent_at(demo_agent.url("/fail")), {"status": 502, "retry_after": 7}))

    assert reply.retryable
    assert reply.retry_after_ms is None


async def test_a_redirect_is_not_followed(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    reply = await invoker.invoke(call_to(agent_at(demo_agent.url("/redirect")), {"location": demo_agent.url("/echo")}))

    assert reply.error_code == "agent_error"
    assert not reply.retryable
    assert reply.http_status == 302
    assert demo_agent.url("/echo") in (reply.error_message or "")
    assert demo_agent.calls("/echo") == []


async def test_a_refused_connection_is_a_retryable_connection_error(
    invoker: HttpAgentInvoker, refused_url: str
) -> None:
    reply = await invoker.invoke(call_to(agent_at(refused_url), {}))

    assert reply.error_code == "connection_error"
    assert reply.retryable
    assert reply.http_status is None


async def test_fail_times_counts_per_idempotency_key(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    call = call_to(agent_at(demo_agent.url("/fail")), {"status": 503, "times": 2})

    replies = [await invoker.invoke(attrs.evolve(call, attempt=number)) for number in (1, 2, 3)]
    other_key = await invoker.invoke(attrs.evolve(call, idempotency_key="another:summarise:1"))

    assert [reply.http_status for reply in replies] == [503, 503, 200]
    assert replies[2].output == {"status": 503, "times": 2}
    assert other_key.http_status == 503


async def test_cancelling_the_task_aborts_the_request(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    attempt = asyncio.create_task(invoker.invoke(call_to(agent_at(demo_agent.url("/sleep")), {"seconds": 60})))
    await demo_agent.wait_for_calls(lambda calls: len(calls) == 1)

    attempt.cancel()

    with pytest.raises(asyncio.CancelledError):
        await attempt
    [call] = await demo_agent.wait_for_calls(lambda calls: calls[0].aborted)
    assert call.path == "/sleep"


async def test_the_session_is_reopened_after_close(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    agent = agent_at(demo_agent.url("/echo"))
    assert (await invoker.invoke(call_to(agent, 1))).ok

    await invoker.close()

    assert (await invoker.invoke(call_to(agent, 2))).output == 2


async def test_no_auth_sends_no_credentials(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    await invoker.invoke(call_to(agent_at(demo_agent.url("/echo"), auth=NoAuth()), {}))

    assert set(demo_agent.calls("/echo")[0].headers) == {"user-agent"}


async def test_more_calls_at_once_than_aiohttp_connects_by_default_are_all_sent_at_once(
    invoker: HttpAgentInvoker, demo_agent: DemoAgent
) -> None:
    agent = agent_at(demo_agent.url("/sleep"), timeout_ms=60_000)
    calls = [asyncio.create_task(invoker.invoke(call_to(agent, {"seconds": 30}))) for _ in range(120)]
    try:
        # aiohttp's default cap is 100 connections: the 20 calls beyond it would wait, unsent.
        await demo_agent.wait_for_calls(lambda received: len(received) == 120)
    finally:
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
