"""Agent request and response bodies (contract §1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from adapters_http.server.converter import UNSET, Unset, structure
from adapters_http.server.schemas import rules
from adapters_http.server.schemas.common import doc
from wfcore.domain.agents import (
    DEFAULT_RETRY_STATUSES,
    Agent,
    AgentStatus,
    ApiKeyAuth,
    AuthConfig,
    AuthType,
    BasicAuth,
    BearerAuth,
    HealthResult,
    HealthStatus,
    NoAuth,
    RetryPolicy,
    masked_auth,
)
from wfcore.domain.ids import AgentId
from wfcore.use_cases.agents import RegisterAgent, UpdateAgent
from wfcore.use_cases.common import Actor


@attrs.frozen
class NoAuthConfig:
    """`auth_type: none` takes no settings."""

    def to_auth(self) -> AuthConfig:
        return NoAuth()


@attrs.frozen
class BearerAuthConfig:
    """`auth_type: bearer`: sent as `Authorization: Bearer <token>`."""

    token: str = attrs.field(metadata=doc("The bearer token (write-only: responses show `***`)."))

    def to_auth(self) -> AuthConfig:
        return BearerAuth(token=self.token)


@attrs.frozen
class ApiKeyAuthConfig:
    """`auth_type: api_key`: the key sent in a header."""

    key: str = attrs.field(metadata=doc("The API key (write-only: responses show `***`)."))
    header: str = attrs.field(default="X-API-Key", metadata=doc("The header that carries the key."))

    def to_auth(self) -> AuthConfig:
        return ApiKeyAuth(key=self.key, header=self.header)


@attrs.frozen
class BasicAuthConfig:
    """`auth_type: basic`: HTTP Basic authentication."""

    username: str = attrs.field(metadata=doc("The user name."))
    password: str = attrs.field(metadata=doc("The password (write-only: responses show `***`)."))

    def to_auth(self) -> AuthConfig:
        return BasicAuth(username=self.username, password=self.password)


AuthConfigBody = NoAuthConfig | BearerAuthConfig | ApiKeyAuthConfig | BasicAuthConfig

AUTH_CONFIG_SCHEMAS: dict[AuthType, type[AuthConfigBody]] = {
    AuthType.NONE: NoAuthConfig,
    AuthType.BEARER: BearerAuthConfig,
    AuthType.API_KEY: ApiKeyAuthConfig,
    AuthType.BASIC: BasicAuthConfig,
}


def auth_from_body(auth_type: AuthType, auth_config: dict[str, Any] | None) -> AuthConfig:
    """The domain auth config for `auth_type`, its settings checked against that type's schema."""
    return structure(auth_config or {}, AUTH_CONFIG_SCHEMAS[auth_type], at=("auth_config",)).to_auth()


_AUTH_CONFIG_DOC = doc(
    "The settings of `auth_type`, shaped by it: none `{}`, bearer `{token}`, api_key `{key, header}`, "
    "basic `{username, password}`. Secrets are write-only: send `***` back to keep the stored one.",
    shapes=tuple(AUTH_CONFIG_SCHEMAS.values()),
)


@attrs.frozen
class RetryConfig:
    """How a failed agent call is retried: exponential backoff with full jitter."""

    max_attempts: int = attrs.field(
        default=3, metadata=doc("Tries in all, the first included.", **rules.ATTEMPTS_RULES)
    )
    initial_backoff_ms: int = attrs.field(
        default=500, metadata=doc("The backoff ceiling after the first failure.", **rules.BACKOFF_RULES)
    )
    max_backoff_ms: int = attrs.field(
        default=30_000,
        metadata=doc("The largest backoff ceiling, at least `initial_backoff_ms`.", **rules.BACKOFF_RULES),
    )
    backoff_multiplier: float = attrs.field(
        default=2.0, metadata=doc("How the ceiling grows with each failure.", **rules.MULTIPLIER_RULES)
    )
    retry_on_status: list[int] = attrs.field(
        factory=lambda: list(DEFAULT_RETRY_STATUSES),
        metadata=doc("HTTP statuses that are worth another try.", **rules.STATUSES_RULES),
    )

    def to_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            initial_backoff_ms=self.initial_backoff_ms,
            max_backoff_ms=self.max_backoff_ms,
            backoff_multiplier=self.backoff_multiplier,
            retry_on_status=tuple(self.retry_on_status),
        )

    @classmethod
    def from_policy(cls, policy: RetryPolicy) -> RetryConfig:
        return cls(
            max_attempts=policy.max_attempts,
            initial_backoff_ms=policy.initial_backoff_ms,
            max_backoff_ms=policy.max_backoff_ms,
            backoff_multiplier=policy.backoff_multiplier,
            retry_on_status=list(policy.retry_on_status),
        )


@attrs.frozen
class AgentCreate:
    """The body of `POST /api/v1/agents`."""

    name: str = attrs.field(metadata=doc("Unique among agents that are not deleted.", **rules.NAME_RULES))
    url: str = attrs.field(metadata=doc("Absolute http(s) URL; each step attempt is a POST to it.", **rules.URL_RULES))
    health_url: str | None = attrs.field(
        default=None, metadata=doc("Default: `url` with its path set to /health.", **rules.URL_RULES)
    )
    description: str | None = attrs.field(default=None, metadata=doc("What the agent does.", **rules.DESCRIPTION_RULES))
    auth_type: AuthType = attrs.field(default=AuthType.NONE, metadata=doc("How calls authenticate."))
    auth_config: dict[str, Any] | None = attrs.field(default=None, metadata=_AUTH_CONFIG_DOC)
    timeout_ms: int = attrs.field(default=30_000, metadata=doc("Timeout of each attempt.", **rules.TIMEOUT_RULES))
    retry_config: RetryConfig = attrs.field(factory=RetryConfig, metadata=doc("The retry policy of calls."))
    status: AgentStatus = attrs.field(default=AgentStatus.ACTIVE, metadata=doc("Only active agents take steps."))

    def to_command(self, actor: Actor) -> RegisterAgent:
        return RegisterAgent(
            name=self.name,
            url=self.url,
            actor=actor,
            health_url=self.health_url,
            description=self.description,
            auth=auth_from_body(self.auth_type, self.auth_config),
            timeout_ms=self.timeout_ms,
            retry=self.retry_config.to_policy(),
            status=self.status,
        )


@attrs.frozen
class AgentUpdate:
    """The body of `PUT /api/v1/agents/{agent_id}`: any subset of the writable fields.

    A field left out keeps its value. `auth_config` without `auth_type` keeps the current type; a secret
    sent back as `***` keeps the stored secret. `retry_config` replaces the whole policy (defaults fill in).
    """

    name: str | Unset = attrs.field(default=UNSET, metadata=doc("Unique among agents.", **rules.NAME_RULES))
    url: str | Unset = attrs.field(default=UNSET, metadata=doc("Absolute http(s) URL.", **rules.URL_RULES))
    health_url: str | Unset | None = attrs.field(
        default=UNSET, metadata=doc("null: derive it from `url`.", **rules.URL_RULES)
    )
    description: str | Unset | None = attrs.field(
        default=UNSET, metadata=doc("What the agent does.", **rules.DESCRIPTION_RULES)
    )
    auth_type: AuthType | Unset = attrs.field(default=UNSET, metadata=doc("How calls authenticate."))
    auth_config: dict[str, Any] | Unset | None = attrs.field(default=UNSET, metadata=_AUTH_CONFIG_DOC)
    timeout_ms: int | Unset = attrs.field(
        default=UNSET, metadata=doc("Timeout of each attempt.", **rules.TIMEOUT_RULES)
    )
    retry_config: RetryConfig | Unset = attrs.field(default=UNSET, metadata=doc("The retry policy of calls."))
    status: AgentStatus | Unset = attrs.field(default=UNSET, metadata=doc("Only active agents take steps."))

    @property
    def needs_current_auth_type(self) -> bool:
        """New `auth_config` settings without an `auth_type`: they are read as the agent's current type."""
        return self.auth_type is UNSET and self.auth_config is not UNSET

    def to_command(self, agent_id: AgentId, actor: Actor, current_auth_type: AuthType | None = None) -> UpdateAgent:
        given: dict[str, Any] = {
            "name": self.name,
            "url": self.url,
            "health_url": self.health_url,
            "description": self.description,
            "timeout_ms": self.timeout_ms,
            "status": self.status,
        }
        changes = {name: value for name, value in given.items() if value is not UNSET}
        if isinstance(self.retry_config, RetryConfig):
            changes["retry"] = self.retry_config.to_policy()
        auth_type = current_auth_type if self.auth_type is UNSET else self.auth_type
        if auth_type is not None:
            config = None if self.auth_config is UNSET else self.auth_config
            changes["auth"] = auth_from_body(auth_type, config)
        return UpdateAgent(agent_id=agent_id, changes=changes, actor=actor)


@attrs.frozen
class HealthResponse:
    """The result of an agent health check."""

    status: HealthStatus = attrs.field(metadata=doc("healthy, unhealthy or unreachable."))
    http_status: int | None = attrs.field(metadata=doc("The status the health URL answered, if it answered."))
    latency_ms: float | None = attrs.field(metadata=doc("How long the check took."))
    checked_at: datetime = attrs.field(metadata=doc("When the check ran."))
    detail: str | None = attrs.field(metadata=doc("Why the agent is not healthy."))

    @classmethod
    def from_result(cls, result: HealthResult) -> HealthResponse:
        return cls(
            status=result.status,
            http_status=result.http_status,
            latency_ms=result.latency_ms,
            checked_at=result.checked_at,
            detail=result.detail,
        )


@attrs.frozen
class AgentResponse:
    """An agent as every response shows it: secrets masked as `***`."""

    id: str = attrs.field(metadata=doc("The agent's id."))
    name: str = attrs.field(metadata=doc("The agent's unique name."))
    url: str = attrs.field(metadata=doc("Where step calls go."))
    health_url: str = attrs.field(metadata=doc("Where health checks go."))
    description: str | None = attrs.field(metadata=doc("What the agent does."))
    auth_type: AuthType = attrs.field(metadata=doc("How calls authenticate."))
    auth_config: dict[str, Any] = attrs.field(metadata=doc("The auth settings, secret values shown as `***`."))
    timeout_ms: int = attrs.field(metadata=doc("Timeout of each attempt."))
    retry_config: RetryConfig = attrs.field(metadata=doc("The retry policy of calls."))
    status: AgentStatus = attrs.field(metadata=doc("active or inactive."))
    last_health: HealthResponse | None = attrs.field(metadata=doc("The latest health check, if any."))
    created_at: datetime = attrs.field(metadata=doc("When the agent was registered."))
    updated_at: datetime = attrs.field(metadata=doc("When the agent last changed."))

    @classmethod
    def from_agent(cls, agent: Agent) -> AgentResponse:
        return cls(
            id=agent.id,
            name=agent.name,
            url=agent.url,
            health_url=agent.health_url,
            description=agent.description,
            auth_type=agent.auth.type,
            auth_config=masked_auth(agent.auth),
            timeout_ms=agent.timeout_ms,
            retry_config=RetryConfig.from_policy(agent.retry),
            status=agent.status,
            last_health=HealthResponse.from_result(agent.last_health) if agent.last_health else None,
            created_at=agent.created_at,
            updated_at=agent.updated_at,
        )
