"""Settings from environment variables, each also a flag of the same name (`WF_PORT` / `--port`).

A bad value stops the process at start with one line naming the setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
from attrs import AttrsInstance

from adapters_http.client import parse_networks

N = TypeVar("N", int, float)
S = TypeVar("S", bound=AttrsInstance)

ENV_PREFIX = "WF_"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A setting with a bad value; the message names it and says what is expected."""


def _number_in(kind: type[N], low: N, high: N) -> Callable[[str], N]:
    def parse(raw: str) -> N:
        try:
            value = kind(raw)
        except ValueError:
            noun = "a whole number" if kind is int else "a number"
            raise ValueError(f"must be {noun} between {low} and {high}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def int_in(low: int, high: int) -> Callable[[str], int]:
    """A parser of whole numbers in `[low, high]`."""
    return _number_in(int, low, high)


def float_in(low: float, high: float) -> Callable[[str], float]:
    """A parser of numbers in `[low, high]`."""
    return _number_in(float, low, high)


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        raise ValueError(f"must be one of {', '.join(choices)}")

    return parse


def _database_url(raw: str) -> str:
    value = raw.strip()
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError("must be a sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB URL")
    return value


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _networks(raw: str) -> tuple[str, ...]:
    parse_networks(raw)  # refuses what is not a CIDR network, with the same message as the agent client
    return _csv(raw)


def _api_keys(raw: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for pair in _csv(raw):
        name, sep, key = pair.partition(":")
        if not sep or not name.strip() or len(key.strip()) < 16:
            raise ValueError("must be comma-separated name:key pairs, each key at least 16 characters long")
        keys[name.strip()] = key.strip()
    return keys


def nonempty(raw: str) -> str:
    """A parser of text that must not be blank."""
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw.strip()


def setting(default: Any, parse: Callable[[str], Any], help_text: str) -> Any:
    return attrs.field(default=default, metadata={"parse": parse, "help": help_text})


@attrs.frozen
class Settings:
    """Every setting of `wf`. Field `x` is read from `WF_X` and from `--x`."""

    host: str = setting("127.0.0.1", nonempty, "address the API binds to")
    port: int = setting(8080, int_in(1, 65535), "port of the API")
    database_url: str = setting("sqlite+aiosqlite:///./wf.db", _database_url, "SQLAlchemy URL of the database")
    database_pool_size: int = setting(
        20,
        int_in(1, 1000),
        "PostgreSQL connections a process keeps open, half for single statements, half for transactions"
        " (bursts of transactions open up to 10 more, briefly)",
    )
    kafka_bootstrap_servers: tuple[str, ...] = setting(
        (), _csv, "Kafka brokers (host:port, comma-separated); unset means the embedded mode"
    )
    secret_key: tuple[str, ...] = setting(
        (), _csv, "Fernet keys that encrypt agent secrets at rest, newest first, comma-separated"
    )
    api_keys: dict[str, str] = setting(
        attrs.Factory(dict), _api_keys, "name:key pairs; when set every /api/ request needs one"
    )
    log_format: str = setting("text", _one_of(*LOG_FORMATS), "text or json log lines")
    log_level: str = setting("INFO", _one_of(*LOG_LEVELS), "log level")
    max_body_bytes: int = setting(1_048_576, int_in(1024, 64 * 1_048_576), "largest request body accepted")
    max_json_depth: int = setting(64, int_in(2, 1000), "deepest JSON nesting accepted in a request")
    max_response_bytes: int = setting(1_048_576, int_in(1024, 64 * 1_048_576), "largest agent response accepted")
    # Agent calls wait on the network, most of all LLM agents: a process keeps many runs going. More in flight also
    # lets a worker write more runs' changes in each shared commit.
    worker_concurrency: int = setting(64, int_in(1, 10_000), "runs in flight per worker process")
    lease_seconds: float = setting(30.0, float_in(1.0, 3600.0), "how long a worker's claim on a run lasts unrenewed")
    shutdown_grace_seconds: float = setting(
        10.0, float_in(0.0, 3600.0), "how long a stopping worker waits for runs in flight"
    )
    agent_allowed_networks: tuple[str, ...] = setting(
        (), _networks, "when set, agents may only be called on these CIDR networks"
    )
    agent_denied_networks: tuple[str, ...] = setting(
        (), _networks, "CIDR networks agents may never be called on (default: link-local and metadata ranges)"
    )

    @property
    def distributed(self) -> bool:
        return bool(self.kafka_bootstrap_servers)

    @property
    def embedded(self) -> bool:
        return not self.distributed


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def load_settings(environ: Mapping[str, str] | None = None, overrides: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment, with `overrides` (raw flag values by field name) winning.

    Raises `SettingsError` naming the first bad setting.
    """
    return load_fields(Settings, environ, overrides)


def load_fields(
    settings_class: type[S], environ: Mapping[str, str] | None = None, overrides: Mapping[str, str] | None = None
) -> S:
    """An attrs settings class whose fields are `setting(...)`s, read from `WF_` variables and flags."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in attrs.fields(settings_class):
        raw = (overrides or {}).get(field.name)
        source = flag_name(field.name)
        if raw is None:
            raw = environ.get(env_name(field.name))
            source = env_name(field.name)
        if raw is None or (raw == "" and source.startswith(ENV_PREFIX)):
            continue
        try:
            values[field.name] = field.metadata["parse"](raw)
        except ValueError as error:
            raise SettingsError(f"{source}={_shown(field.name, raw)}: {error}") from None
    return settings_class(**values)


def _shown(name: str, raw: str) -> str:
    return "'***'" if name in ("secret_key", "api_keys") else repr(raw)
