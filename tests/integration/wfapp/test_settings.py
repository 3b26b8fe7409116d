"""Settings come from WF_ variables and flags; a bad one stops `wf` with one line naming it."""

from __future__ import annotations

import pytest
from dependency_injector import providers

from fixtures.cli import wf_command
from wfapp.container import Container
from wfapp.settings import Settings, SettingsError, load_settings


def test_defaults_are_the_embedded_mode_on_loopback() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.database_url == "sqlite+aiosqlite:///./wf.db"
    assert settings.embedded
    assert not settings.distributed


def test_environment_values_are_parsed_and_flags_win() -> None:
    environ = {
        "WF_PORT": "9000",
        "WF_KAFKA_BOOTSTRAP_SERVERS": "a:9092, b:9092",
        "WF_API_KEYS": "ci:0123456789abcdef,ops:fedcba9876543210",
        "WF_LOG_FORMAT": "JSON",
        "WF_AGENT_DENIED_NETWORKS": "10.0.0.0/8",
    }
    settings = load_settings(environ, overrides={"port": "9001"})
    assert settings.port == 9001
    assert settings.kafka_bootstrap_servers == ("a:9092", "b:9092")
    assert settings.distributed
    assert settings.api_keys == {"ci": "0123456789abcdef", "ops": "fedcba9876543210"}
    assert settings.log_format == "json"
    assert settings.agent_denied_networks == ("10.0.0.0/8",)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("WF_PORT", "eighty", "WF_PORT='eighty': must be a whole number between 1 and 65535"),
        ("WF_PORT", "70000", "WF_PORT='70000': must be between 1 and 65535"),
        ("WF_DATABASE_URL", "mysql://x", "WF_DATABASE_URL='mysql://x': must be a sqlite+aiosqlite"),
        ("WF_LOG_LEVEL", "LOUD", "WF_LOG_LEVEL='LOUD': must be one of DEBUG"),
        ("WF_API_KEYS", "short:abc", "WF_API_KEYS='***': must be comma-separated name:key pairs"),
        ("WF_AGENT_ALLOWED_NETWORKS", "10.0.0.0/33", "WF_AGENT_ALLOWED_NETWORKS='10.0.0.0/33': '10.0.0.0/33' is not"),
        ("WF_LEASE_SECONDS", "0", "WF_LEASE_SECONDS='0': must be between 1.0 and 3600.0"),
    ],
)
def test_a_bad_value_names_the_setting(variable: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({variable: value})
    assert str(raised.value).startswith(expected)


def test_an_empty_variable_means_unset() -> None:
    assert load_settings({"WF_PORT": ""}).port == Settings().port


def test_wf_stops_at_start_with_one_line_and_no_traceback() -> None:
    done = wf_command("serve", env={"WF_PORT": "not-a-port"}, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "wf: bad setting: WF_PORT='not-a-port': must be a whole number between 1 and 65535"
    ]
    assert "Traceback" not in done.stderr


async def test_the_pool_size_setting_sizes_the_postgresql_pool() -> None:
    settings = Settings(database_url="postgresql+asyncpg://wf@127.0.0.1:1/wf", database_pool_size=3)
    database = Container(settings=providers.Object(settings)).database()
    try:
        # Two for transactions, one for single statements: together the setting's 3.
        assert database.engine.pool.size() == 2
        assert database.statements is not None
        assert database.statements.size == 1
    finally:
        await database.dispose()
