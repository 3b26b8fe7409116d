"""Calling agents: one attempt of one step, and a health check."""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from wfcore.domain.agents import Agent, HealthResult


@attrs.frozen
class AgentCall:
    """Everything one attempt sends (contract §2)."""

    agent: Agent
    run_id: str
    step_id: str
    attempt: int
    workflow_id: str
    workflow_name: str
    workflow_version: int
    input: Any
    idempotency_key: str
    timeout_ms: int
    request_id: str | None = None

    def body(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "step_id": self.step_id,
            "attempt": self.attempt,
            "workflow": {
                "id": self.workflow_id,
                "name": self.workflow_name,
                "version": self.workflow_version,
            },
            "input": self.input,
        }


@attrs.frozen
class AgentReply:
    """The outcome of one attempt.

    `error_code` is None on success. `retryable` says whether the contract allows another attempt;
    `retry_after_ms` carries a `Retry-After` the agent sent with a 429 or 503.
    """

    http_status: int | None
    output: Any = None
    error_code: str | None = None
    error_message: str | None = None
    body_excerpt: str | None = None
    retryable: bool = False
    retry_after_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


class AgentInvoker(Protocol):
    async def invoke(self, call: AgentCall) -> AgentReply:
        """One attempt. Never raises for an agent's failure; cancelling the task aborts the call."""

    async def check_health(self, agent: Agent) -> HealthResult: ...
