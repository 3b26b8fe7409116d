"""HttpAgentInvoker.check_health against the demo agent on loopback."""

from __future__ import annotations

from adapters_http.client import HttpAgentInvoker
from adapters_memory.system import VirtualClock
from fixtures.agents import DemoAgent, InvokerFactory, agent_at
from wfcore.domain.agents import BearerAuth, HealthStatus


async def test_a_2xx_health_answer_is_healthy(make_invoker: InvokerFactory, demo_agent: DemoAgent) -> None:
    clock = VirtualClock()
    agent = agent_at(demo_agent.url("/echo"), auth=BearerAuth(token="t0k"))

    result = await make_invoker(clock=clock).check_health(agent)

    assert result.status == HealthStatus.HEALTHY
    assert result.http_status == 200
    assert result.latency_ms == 0.0
    assert result.checked_at == clock.now()
    assert result.detail is None
    [call] = demo_agent.calls("/health")
    assert call.method == "GET"
    assert call.headers["authorization"] == "Bearer t0k"
    assert call.headers["user-agent"].startswith("wf/")


async def test_another_status_is_unhealthy(invoker: HttpAgentInvoker, demo_agent: DemoAgent) -> None:
    agent = agent_at(demo_agent.url("/echo"), health_url=demo_agent.url("/health?status=503"))

    result = await invoker.check_health(agent)

    assert result.status == HealthStatus.UNHEALTHY
    assert result.http_status == 503
    assert result.latency_ms is not None
    assert result.latency_ms >= 0
    assert "503" in (result.detail or "")
    assert "failing" in (result.detail or "")


async def test_a_health_endpoint_slower_than_the_timeout_is_unreachable(
    invoker: HttpAgentInvoker, demo_agent: DemoAgent
) -> None:
    agent = agent_at(demo_agent.url("/echo"), health_url=demo_agent.url("/health?delay=30"), timeout_ms=200)

    result = await invoker.check_health(agent)

    assert result.status == HealthStatus.UNREACHABLE
    assert "200 ms" in (result.detail or "")


async def test_a_refused_connection_is_unreachable(invoker: HttpAgentInvoker, refused_url: str) -> None:
    result = await invoker.check_health(agent_at(refused_url))

    assert result.status == HealthStatus.UNREACHABLE
    assert result.http_status is None
    assert result.latency_ms is None
    assert result.detail
