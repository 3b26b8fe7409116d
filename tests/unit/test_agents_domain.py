"""Agents: retry policy ranges and backoff, auth headers and masking, the rules about one agent."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfcore.domain.agents import (
    MASK,
    Agent,
    AgentStatus,
    ApiKeyAuth,
    AuthConfig,
    BasicAuth,
    BearerAuth,
    NoAuth,
    RetryPolicy,
    default_health_url,
    masked_auth,
)
from wfcore.domain.audit import diff
from wfcore.domain.errors import Loc
from wfcore.domain.ids import AgentId

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def agent(**fields: Any) -> Agent:
    values: dict[str, Any] = {
        "id": AgentId("agent-1"),
        "name": "classifier",
        "url": "https://agents.example.com/classify",
        "health_url": "https://agents.example.com/health",
        "description": None,
        "auth": NoAuth(),
        "timeout_ms": 30_000,
        "retry": RetryPolicy(),
        "status": AgentStatus.ACTIVE,
        "last_health": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Agent(**{**values, **fields})


def problem_locs(subject: Agent | RetryPolicy) -> list[Loc]:
    return [problem.loc for problem in subject.problems()]


@pytest.mark.parametrize(
    ("policy", "locs"),
    [
        (RetryPolicy(), []),
        (RetryPolicy(max_attempts=1, initial_backoff_ms=0, max_backoff_ms=0, backoff_multiplier=1.0), []),
        (RetryPolicy(max_attempts=10, initial_backoff_ms=3_600_000, max_backoff_ms=3_600_000), []),
        (RetryPolicy(max_attempts=0), [("max_attempts",)]),
        (RetryPolicy(max_attempts=11), [("max_attempts",)]),
        (RetryPolicy(initial_backoff_ms=-1), [("initial_backoff_ms",)]),
        (RetryPolicy(max_backoff_ms=3_600_001), [("max_backoff_ms",)]),
        (RetryPolicy(initial_backoff_ms=1000, max_backoff_ms=999), [("max_backoff_ms",)]),
        (RetryPolicy(backoff_multiplier=0.99), [("backoff_multiplier",)]),
        (RetryPolicy(backoff_multiplier=10.01), [("backoff_multiplier",)]),
        (RetryPolicy(retry_on_status=(99, 500, 600)), [("retry_on_status", 0), ("retry_on_status", 2)]),
    ],
)
def test_retry_policy_ranges(policy: RetryPolicy, locs: list[Loc]) -> None:
    assert problem_locs(policy) == locs


def test_retry_policy_problems_are_located_under_the_given_loc() -> None:
    assert problem_locs(agent(retry=RetryPolicy(max_attempts=0))) == [("retry_config", "max_attempts")]


valid_policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 10),
    initial_backoff_ms=st.integers(0, 60_000),
    max_backoff_ms=st.integers(0, 3_600_000),
    backoff_multiplier=st.floats(1.0, 10.0),
)


@given(valid_policies, st.integers(1, 10))
def test_backoff_ceilings_are_exponential_and_capped(policy: RetryPolicy, failed_attempt: int) -> None:
    ceiling = policy.backoff_ceiling_ms(failed_attempt)

    exponential = policy.initial_backoff_ms * policy.backoff_multiplier ** (failed_attempt - 1)
    assert ceiling == min(exponential, policy.max_backoff_ms)
    assert ceiling <= policy.max_backoff_ms
    assert policy.backoff_ceiling_ms(failed_attempt + 1) >= ceiling


def test_backoff_ceilings_of_the_default_policy() -> None:
    policy = RetryPolicy()

    assert [policy.backoff_ceiling_ms(n) for n in range(1, 9)] == [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]


def test_overridden_replaces_only_the_fields_that_are_set() -> None:
    base = RetryPolicy(max_attempts=2)

    changed = base.overridden({"max_attempts": 7, "initial_backoff_ms": None, "retry_on_status": [503]})

    assert changed == RetryPolicy(max_attempts=7, retry_on_status=(503,))
    assert base == RetryPolicy(max_attempts=2)
    assert base.overridden({}) == base


def test_retryable_statuses() -> None:
    policy = RetryPolicy()

    assert [status for status in (200, 400, 408, 429, 500, 501, 503) if policy.should_retry_status(status)] == [
        408,
        429,
        500,
        503,
    ]


SECRET_MARK = "s3cr3t:"
secrets = st.text(max_size=20).map(lambda text: SECRET_MARK + text)


@st.composite
def auths(draw: st.DrawFn) -> AuthConfig:
    kind = draw(st.sampled_from(["none", "bearer", "api_key", "basic"]))
    if kind == "bearer":
        return BearerAuth(token=draw(secrets))
    if kind == "api_key":
        return ApiKeyAuth(key=draw(secrets), header=draw(st.sampled_from(["X-API-Key", "X-Token"])))
    if kind == "basic":
        return BasicAuth(username=draw(st.text(max_size=10)), password=draw(secrets))
    return NoAuth()


@given(auths())
def test_masked_auth_and_repr_never_show_a_secret(auth: AuthConfig) -> None:
    masked = masked_auth(auth)

    assert {name: masked[name] for name in auth.secrets()} == dict.fromkeys(auth.secrets(), MASK)
    assert {key: value for key, value in masked.items() if key not in auth.secrets()} == auth.public()
    assert SECRET_MARK not in repr(masked)
    assert SECRET_MARK not in repr(auth)


@pytest.mark.parametrize(
    ("auth", "masked", "headers"),
    [
        (NoAuth(), {}, {}),
        (BearerAuth(token="t0k"), {"token": MASK}, {"Authorization": "Bearer t0k"}),
        (ApiKeyAuth(key="k3y"), {"key": MASK, "header": "X-API-Key"}, {"X-API-Key": "k3y"}),
        (ApiKeyAuth(key="k3y", header="X-Token"), {"key": MASK, "header": "X-Token"}, {"X-Token": "k3y"}),
        (
            BasicAuth(username="ada", password="s3cret"),
            {"username": "ada", "password": MASK},
            {"Authorization": "Basic " + base64.b64encode(b"ada:s3cret").decode()},
        ),
    ],
)
def test_auth_headers_and_masks_per_type(auth: AuthConfig, masked: dict[str, str], headers: dict[str, str]) -> None:
    assert masked_auth(auth) == masked
    assert auth.headers() == headers


def test_a_valid_agent_has_no_problems() -> None:
    assert problem_locs(agent()) == []
    assert problem_locs(agent(auth=BasicAuth(username="", password="p"), description="d" * 2000)) == []


@pytest.mark.parametrize(
    ("fields", "loc", "kind"),
    [
        ({"name": ""}, ("name",), "string_length"),
        ({"name": "n" * 101}, ("name",), "string_length"),
        ({"name": "-dash"}, ("name",), "string_pattern"),
        ({"name": "has space"}, ("name",), "string_pattern"),
        ({"url": "ftp://agents.example.com/x"}, ("url",), "url"),
        ({"url": "/relative/path"}, ("url",), "url"),
        ({"url": "http://"}, ("url",), "url"),
        ({"url": "http://host:99999/"}, ("url",), "url"),
        ({"url": "http://[::1/"}, ("url",), "url"),
        ({"url": "https://h.example.com/" + "p" * 2048}, ("url",), "string_length"),
        ({"health_url": "mailto:ops@example.com"}, ("health_url",), "url"),
        ({"description": "d" * 2001}, ("description",), "string_length"),
        ({"timeout_ms": 99}, ("timeout_ms",), "range"),
        ({"timeout_ms": 600_001}, ("timeout_ms",), "range"),
        ({"retry": RetryPolicy(backoff_multiplier=0)}, ("retry_config", "backoff_multiplier"), "range"),
        ({"auth": ApiKeyAuth(key="k", header=" ")}, ("auth_config", "header"), "value_error"),
        ({"auth": ApiKeyAuth(key="")}, ("auth_config", "key"), "value_error"),
        ({"auth": BearerAuth(token="")}, ("auth_config", "token"), "value_error"),
        ({"auth": BasicAuth(username="ada", password="")}, ("auth_config", "password"), "value_error"),
        ({"auth": BearerAuth(token=MASK)}, ("auth_config", "token"), "value_error"),
    ],
)
def test_every_agent_field_rule(fields: dict[str, Any], loc: Loc, kind: str) -> None:
    problems = list(agent(**fields).problems())

    assert [(problem.loc, problem.type) for problem in problems] == [(loc, kind)]


def test_every_problem_of_an_agent_is_reported_at_once() -> None:
    invalid = agent(name="", url="nope", timeout_ms=1, auth=BearerAuth(token=""), retry=RetryPolicy(max_attempts=0))

    assert problem_locs(invalid) == [
        ("name",),
        ("url",),
        ("timeout_ms",),
        ("retry_config", "max_attempts"),
        ("auth_config", "token"),
    ]


def test_an_agent_is_active_only_when_active_and_not_deleted() -> None:
    assert agent().is_active
    assert not agent(status=AgentStatus.INACTIVE).is_active
    assert not agent(deleted_at=NOW).is_active


@pytest.mark.parametrize(
    ("url", "health_url"),
    [
        ("https://agents.example.com/v1/classify?x=1#frag", "https://agents.example.com/health"),
        ("http://10.0.0.5:8080", "http://10.0.0.5:8080/health"),
        ("http://user:pw@host:81/a/b/", "http://user:pw@host:81/health"),
    ],
)
def test_default_health_url_replaces_the_path(url: str, health_url: str) -> None:
    assert default_health_url(url) == health_url


def test_audit_diff_lists_changed_fields_and_masks_secret_ones() -> None:
    old = {"name": "a", "url": "http://x/", "token": "old-secret", "gone": 1}
    new = {"name": "a", "url": "http://y/", "token": "new-secret", "added": None, "fresh": 2}

    changes = diff(old, new, secret_fields=frozenset({"token"}))

    assert changes == {"url": ("http://x/", "http://y/"), "token": (MASK, MASK), "gone": (1, None), "fresh": (None, 2)}


def test_agents_are_values() -> None:
    assert agent() == agent()
    assert attrs.evolve(agent(), name="other") != agent()
