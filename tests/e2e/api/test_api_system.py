"""API keys, liveness and readiness."""

from __future__ import annotations

import asyncio

import pytest

from adapters_http.server import HttpSettings, ReadinessCheck, ReadinessResult
from e2e.api.calls import Client, problem

KEYS = HttpSettings(api_keys={"ci": "ci-secret-key", "ops": "ops-secret-key"})


@pytest.mark.parametrize("http_settings", [KEYS])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": "Basic Y2k6Y2ktc2VjcmV0LWtleQ=="},
        {"Authorization": "Bearer "},
        {"X-API-Key": "ci-secret-ke"},
        {"X-API-Key": ""},
    ],
)
async def test_without_a_valid_key_the_api_is_a_401(api_client: Client, headers: dict[str, str]) -> None:
    response = await api_client.get("/api/v1/agents", headers=headers)
    await problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("http_settings", [KEYS])
@pytest.mark.parametrize(
    ("headers", "principal"),
    [
        ({"Authorization": "Bearer ci-secret-key"}, "ci"),
        ({"Authorization": "bearer ops-secret-key"}, "ops"),
        ({"X-API-Key": "ops-secret-key"}, "ops"),
    ],
)
async def test_a_valid_key_names_the_audit_user(api_client: Client, headers: dict[str, str], principal: str) -> None:
    body = {"name": "keyed", "url": "http://127.0.0.1:9/"}
    response = await api_client.post("/api/v1/agents", json=body, headers={**headers, "X-User-ID": "mallory"})
    assert response.status == 201
    entries = (await (await api_client.get("/api/v1/audit-logs", headers=headers)).json())["items"]
    assert [entry["user_id"] for entry in entries] == [principal]


@pytest.mark.parametrize("http_settings", [KEYS])
async def test_health_needs_no_key(api_client: Client) -> None:
    assert (await api_client.get("/health")).status == 200
    assert (await api_client.get("/health/ready")).status == 200


async def test_without_keys_the_user_comes_from_the_header_or_is_anonymous(api_client: Client) -> None:
    await api_client.post(
        "/api/v1/agents", json={"name": "a", "url": "http://127.0.0.1:9/"}, headers={"X-User-ID": "ada"}
    )
    await api_client.post("/api/v1/agents", json={"name": "b", "url": "http://127.0.0.1:9/"})
    entries = (await (await api_client.get("/api/v1/audit-logs")).json())["items"]
    assert [entry["user_id"] for entry in entries] == ["anonymous", "ada"]


@pytest.mark.parametrize("http_settings", [HttpSettings(version="9.8.7")])
async def test_liveness_is_ok_with_the_version(api_client: Client) -> None:
    response = await api_client.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "version": "9.8.7"}


async def test_readiness_without_checks_is_ok(api_client: Client) -> None:
    response = await api_client.get("/health/ready")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "checks": []}


async def database() -> ReadinessResult:
    return ReadinessResult(name="database", ok=True, detail=None, latency_ms=1.5)


async def broker() -> ReadinessResult:
    return ReadinessResult(name="broker", ok=False, detail="no broker answered at 127.0.0.1:9092", latency_ms=3.0)


async def cache() -> ReadinessResult:
    raise ConnectionRefusedError("cache down")


async def slow_disk() -> ReadinessResult:
    await asyncio.sleep(10)
    return ReadinessResult(name="never", ok=True)


@pytest.mark.parametrize("readiness_checks", [[database]])
async def test_readiness_is_ok_when_every_check_passes(api_client: Client) -> None:
    response = await api_client.get("/health/ready")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "checks": [{"name": "database", "ok": True, "detail": None, "latency_ms": 1.5}],
    }


@pytest.mark.parametrize("http_settings", [HttpSettings(readiness_timeout_seconds=0.1)])
@pytest.mark.parametrize("readiness_checks", [[database, broker, cache, slow_disk]])
async def test_readiness_is_a_503_naming_each_failed_check(
    api_client: Client, readiness_checks: list[ReadinessCheck]
) -> None:
    response = await api_client.get("/health/ready")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unavailable"
    checks = {check["name"]: check for check in body["checks"]}
    assert list(checks) == ["database", "broker", "cache", "slow_disk"]
    assert [check["ok"] for check in body["checks"]] == [True, False, False, False]
    assert checks["broker"]["detail"] == "no broker answered at 127.0.0.1:9092"
    assert "ConnectionRefusedError" in checks["cache"]["detail"]
    assert "0.1" in checks["slow_disk"]["detail"]
