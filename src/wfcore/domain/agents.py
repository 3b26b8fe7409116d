"""Agents: the remote HTTP services that do the work of a step."""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

from wfcore.domain.errors import Loc, Problems
from wfcore.domain.ids import AgentId
from wfcore.domain.values import check_name

MASK = "***"
DEFAULT_RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
TIMEOUT_RANGE_MS = (100, 600_000)


class AgentStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class AuthType(enum.StrEnum):
    NONE = "none"
    BEARER = "bearer"
    API_KEY = "api_key"
    BASIC = "basic"


@attrs.frozen
class NoAuth:
    type = AuthType.NONE

    def headers(self) -> dict[str, str]:
        return {}

    def secrets(self) -> dict[str, str]:
        return {}

    def public(self) -> dict[str, str]:
        return {}


@attrs.frozen(repr=False)
class BearerAuth:
    token: str
    type = AuthType.BEARER

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def secrets(self) -> dict[str, str]:
        return {"token": self.token}

    def public(self) -> dict[str, str]:
        return {}

    def __repr__(self) -> str:
        return "BearerAuth(token='***')"


@attrs.frozen(repr=False)
class ApiKeyAuth:
    key: str
    header: str = "X-API-Key"
    type = AuthType.API_KEY

    def headers(self) -> dict[str, str]:
        return {self.header: self.key}

    def secrets(self) -> dict[str, str]:
        return {"key": self.key}

    def public(self) -> dict[str, str]:
        return {"header": self.header}

    def __repr__(self) -> str:
        return f"ApiKeyAuth(key='***', header={self.header!r})"


@attrs.frozen(repr=False)
class BasicAuth:
    username: str
    password: str
    type = AuthType.BASIC

    def headers(self) -> dict[str, str]:
        pair = f"{self.username}:{self.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    def secrets(self) -> dict[str, str]:
        return {"password": self.password}

    def public(self) -> dict[str, str]:
        return {"username": self.username}

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password='***')"


AuthConfig = NoAuth | BearerAuth | ApiKeyAuth | BasicAuth


def masked_auth(auth: AuthConfig) -> dict[str, str]:
    """The auth config as every response and audit entry shows it: secret values replaced by `***`."""
    return {**auth.public(), **{name: MASK for name in auth.secrets()}}


@attrs.frozen
class RetryPolicy:
    """How often and how patiently a step's agent call is retried (`max_attempts` counts the first try)."""

    max_attempts: int = 3
    initial_backoff_ms: int = 500
    max_backoff_ms: int = 30_000
    backoff_multiplier: float = 2.0
    retry_on_status: tuple[int, ...] = DEFAULT_RETRY_STATUSES

    def problems(self, loc: Loc = ()) -> Problems:
        problems = Problems()
        if not 1 <= self.max_attempts <= 10:
            problems.add((*loc, "max_attempts"), "must be between 1 and 10", "range")
        if not 0 <= self.initial_backoff_ms <= 3_600_000:
            problems.add((*loc, "initial_backoff_ms"), "must be between 0 and 3600000", "range")
        if not 0 <= self.max_backoff_ms <= 3_600_000:
            problems.add((*loc, "max_backoff_ms"), "must be between 0 and 3600000", "range")
        elif self.max_backoff_ms < self.initial_backoff_ms:
            problems.add((*loc, "max_backoff_ms"), "must not be less than initial_backoff_ms", "range")
        if not 1.0 <= self.backoff_multiplier <= 10.0:
            problems.add((*loc, "backoff_multiplier"), "must be between 1.0 and 10.0", "range")
        for index, status in enumerate(self.retry_on_status):
            if not 100 <= status <= 599:
                problems.add((*loc, "retry_on_status", index), "must be an HTTP status (100-599)", "range")
        return problems

    def overridden(self, override: Mapping[str, Any]) -> RetryPolicy:
        """This policy with the fields a step sets replacing the agent's."""
        fields = {key: value for key, value in override.items() if value is not None}
        if "retry_on_status" in fields:
            fields["retry_on_status"] = tuple(fields["retry_on_status"])
        return attrs.evolve(self, **fields)

    def backoff_ceiling_ms(self, failed_attempt: int) -> float:
        """The upper bound of the delay after the `failed_attempt`-th try; full jitter draws below it."""
        exponential = self.initial_backoff_ms * self.backoff_multiplier ** (failed_attempt - 1)
        return float(min(self.max_backoff_ms, exponential))

    def should_retry_status(self, status: int) -> bool:
        return status in self.retry_on_status


class HealthStatus(enum.StrEnum):
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    UNREACHABLE = "unreachable"


@attrs.frozen
class HealthResult:
    status: HealthStatus
    http_status: int | None
    latency_ms: float | None
    checked_at: datetime
    detail: str | None


@attrs.frozen
class Agent:
    """A registered agent. `deleted_at` set means soft-deleted: invisible to reads, kept in the database."""

    id: AgentId
    name: str
    url: str
    health_url: str
    description: str | None
    auth: AuthConfig
    timeout_ms: int
    retry: RetryPolicy
    status: AgentStatus
    last_health: HealthResult | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status is AgentStatus.ACTIVE and self.deleted_at is None

    def problems(self) -> Problems:
        """Every rule about one agent that holds without looking at others."""
        problems = Problems()
        check_name(problems, ("name",), self.name)
        check_http_url(problems, ("url",), self.url)
        check_http_url(problems, ("health_url",), self.health_url)
        if self.description is not None and len(self.description) > 2000:
            problems.add(("description",), "must be at most 2000 characters long", "string_length")
        low, high = TIMEOUT_RANGE_MS
        if not low <= self.timeout_ms <= high:
            problems.add(("timeout_ms",), f"must be between {low} and {high}", "range")
        problems.extend(self.retry.problems(), "retry_config")
        if isinstance(self.auth, ApiKeyAuth) and not self.auth.header.strip():
            problems.add(("auth_config", "header"), "must name an HTTP header", "value_error")
        for name, value in self.auth.secrets().items():
            if not value:
                problems.add(("auth_config", name), "must not be empty", "value_error")
            elif value == MASK:
                # `***` only stands for a stored secret of the same auth type; there is none to keep here.
                problems.add(
                    ("auth_config", name), f"send the secret itself: {MASK!r} keeps no stored value", "value_error"
                )
        return problems


def check_http_url(problems: Problems, loc: Loc, url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        problems.add(loc, "must be an absolute http or https URL", "url")
        return
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.add(loc, "must be an absolute http or https URL", "url")
    elif len(url) > 2048:
        problems.add(loc, "must be at most 2048 characters long", "string_length")


def default_health_url(url: str) -> str:
    """`url` with its path replaced by `/health` (contract §1)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))
