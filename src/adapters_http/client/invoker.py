"""`HttpAgentInvoker`: the `AgentInvoker` port over aiohttp."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
import attrs
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from adapters_http.client.guard import DestinationGuard, DestinationRefused, GuardedResolver
from adapters_http.client.responses import excerpt, reply_from
from adapters_http.client.settings import AgentClientSettings
from wfcore.domain.agents import Agent, HealthResult, HealthStatus
from wfcore.ports.agents import AgentCall, AgentReply
from wfcore.ports.system import Clock

T = TypeVar("T")

HEALTH_TIMEOUT_MS = 5000


@attrs.frozen
class CallFailure:
    """Why an exchange with an agent got no HTTP answer to judge."""

    code: str
    message: str
    retryable: bool


def failure_of(error: DestinationRefused | TimeoutError | aiohttp.ClientError, timeout_ms: int) -> CallFailure:
    """The failure an exception of the HTTP exchange stands for."""
    if isinstance(error, DestinationRefused):
        return CallFailure("destination_refused", str(error), retryable=False)
    if isinstance(error, aiohttp.InvalidURL):
        reason = f"not a valid URL ({error.description})" if error.description else "not a valid URL"
        return CallFailure("destination_refused", f"refused to call {error.url}: {reason}", retryable=False)
    if isinstance(error, TimeoutError):
        return CallFailure("timeout", f"the agent did not answer within {timeout_ms} ms", retryable=True)
    reason = str(error) or type(error).__name__
    return CallFailure("connection_error", f"could not talk to the agent: {reason}", retryable=True)


class HttpAgentInvoker:
    """Calls agents over HTTP: one POST per attempt (contract §2), GET for health, behind the SSRF guard.

    One `aiohttp.ClientSession` serves the process: it is made on first use, in the running event
    loop, and ends with `close()`. `resolver_factory` makes the name resolver the guard wraps, one per
    session (aiohttp's default resolver unless a test injects another); the invoker closes it.
    """

    def __init__(
        self,
        settings: AgentClientSettings,
        clock: Clock,
        resolver_factory: Callable[[], AbstractResolver] = DefaultResolver,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._guard = DestinationGuard(settings.allowed_networks, settings.denied_networks)
        self._resolver_factory = resolver_factory
        self._session: aiohttp.ClientSession | None = None
        self._resolver: AbstractResolver | None = None

    async def invoke(self, call: AgentCall) -> AgentReply:
        """One attempt: never raises for the agent's failure; cancelling the task aborts the request."""
        headers = {**call.agent.auth.headers(), "Idempotency-Key": call.idempotency_key}
        if call.request_id:
            headers["X-Request-ID"] = call.request_id

        async def read(response: aiohttp.ClientResponse) -> AgentReply:
            return await reply_from(response, call.agent, self._settings.max_response_bytes, self._clock.now())

        outcome = await self._exchange("POST", call.agent.url, headers, call.timeout_ms, read, body=call.body())
        if isinstance(outcome, CallFailure):
            return AgentReply(
                http_status=None, error_code=outcome.code, error_message=outcome.message, retryable=outcome.retryable
            )
        return outcome

    async def check_health(self, agent: Agent) -> HealthResult:
        """GET the agent's health URL with its auth; 2xx is healthy, another status unhealthy."""
        timeout_ms = min(agent.timeout_ms, HEALTH_TIMEOUT_MS)
        started = self._clock.monotonic()
        outcome = await self._exchange("GET", agent.health_url, agent.auth.headers(), timeout_ms, _health_answer)
        latency_ms = round((self._clock.monotonic() - started) * 1000, 1)
        if isinstance(outcome, CallFailure):
            return HealthResult(HealthStatus.UNREACHABLE, None, None, self._clock.now(), outcome.message)
        status, detail = outcome
        health = HealthStatus.HEALTHY if 200 <= status < 300 else HealthStatus.UNHEALTHY
        return HealthResult(health, status, latency_ms, self._clock.now(), detail)

    async def close(self) -> None:
        """Close the connections and the resolver; a later call opens a new session."""
        session, resolver = self._session, self._resolver
        self._session = self._resolver = None
        if session is not None:
            await session.close()
        if resolver is not None:
            await resolver.close()

    async def _exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        timeout_ms: int,
        read: Callable[[aiohttp.ClientResponse], Awaitable[T]],
        body: Any = None,
    ) -> T | CallFailure:
        try:
            self._guard.check_url(url)
            async with self._client().request(
                method,
                url,
                json=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout_ms / 1000),
            ) as response:
                return await read(response)
        except (DestinationRefused, TimeoutError, aiohttp.ClientError) as error:
            return failure_of(error, timeout_ms)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._resolver = GuardedResolver(self._guard, self._resolver_factory())
            self._session = aiohttp.ClientSession(
                # No cap on connections: a worker's calls in flight are bounded by its runs and their parallel
                # steps, and a call waiting for a free connection would spend its timeout before being sent.
                connector=aiohttp.TCPConnector(resolver=self._resolver, limit=0),
                headers={"User-Agent": self._settings.user_agent},
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session


async def _health_answer(response: aiohttp.ClientResponse) -> tuple[int, str | None]:
    if 200 <= response.status < 300:
        return response.status, None
    body = await excerpt(response)
    return response.status, f"the health check answered {response.status}" + (f": {body}" if body else "")
