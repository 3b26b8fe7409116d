"""In-process agents: Python callables standing in for HTTP agents, for tests and the test harness."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from wfcore.domain.agents import Agent, HealthResult, HealthStatus
from wfcore.ports.agents import AgentCall, AgentReply
from wfcore.ports.system import Clock

AgentFunction = Callable[[AgentCall], Any] | Callable[[AgentCall], Awaitable[Any]]


class AgentFailure(Exception):
    """Raise from a fake agent to answer like a failing HTTP agent would.

    `status` is the HTTP status it "answers" (None for a connection error); whether the attempt is
    retried follows the agent's `retry_on_status`, as for a real one.
    """

    def __init__(
        self, status: int | None = 500, message: str = "the agent failed", *, retry_after_ms: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_ms = retry_after_ms


class CallableInvoker:
    """An `AgentInvoker` that calls registered Python functions by agent name, and records each call."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._functions: dict[str, AgentFunction] = {}
        self.calls: list[AgentCall] = []

    def register(self, name: str, function: AgentFunction) -> None:
        self._functions[name] = function

    async def invoke(self, call: AgentCall) -> AgentReply:
        self.calls.append(call)
        function = self._functions.get(call.agent.name)
        if function is None:
            return AgentReply(
                http_status=None,
                error_code="connection_error",
                error_message=f"no in-process agent is registered as {call.agent.name!r}",
                retryable=True,
            )
        try:
            result = function(call)
            if inspect.isawaitable(result):
                result = await result
        except AgentFailure as failure:
            retryable = failure.status is None or call.agent.retry.should_retry_status(failure.status)
            return AgentReply(
                http_status=failure.status,
                error_code="connection_error" if failure.status is None else "agent_error",
                error_message=failure.message,
                retryable=retryable,
                retry_after_ms=failure.retry_after_ms,
            )
        return AgentReply(http_status=200, output=result)

    async def check_health(self, agent: Agent) -> HealthResult:
        known = agent.name in self._functions
        return HealthResult(
            status=HealthStatus.HEALTHY if known else HealthStatus.UNREACHABLE,
            http_status=200 if known else None,
            latency_ms=0.0,
            checked_at=self._clock.now(),
            detail=None if known else "no in-process agent is registered under this name",
        )
