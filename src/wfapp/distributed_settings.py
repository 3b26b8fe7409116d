"""Settings of the distributed mode (Kafka topics and clients, the relay, the sweep, the worker's health port).

Read from `WF_` environment variables like `wfapp.settings.Settings`, with the same rule: a bad value
stops the process at start with one line naming the variable (`SettingsError`).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from adapters_kafka.settings import KafkaSettings
from wfapp.settings import Settings, env_name, float_in, int_in, load_fields, nonempty, setting

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flag(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("must be true or false")


def _topic(raw: str) -> str:
    value = nonempty(raw)
    if len(value) > 249 or not all(char.isalnum() or char in "._-" for char in value):
        raise ValueError("must be a Kafka topic name: letters, digits, '.', '_' and '-', at most 249 characters")
    return value


def _port_or_off(raw: str) -> int:
    return 0 if raw.strip() in ("", "0") else int(int_in(1, 65535)(raw))


@attrs.frozen
class DistributedSettings:
    """Every setting of the distributed mode. Field `x` is read from `WF_X` (and `--x` where a command has it)."""

    kafka_runs_topic: str = setting("wf.runs", _topic, "topic of start messages, shared by the workers' group")
    kafka_control_topic: str = setting("wf.control", _topic, "topic of cancel messages, read by every worker")
    kafka_runs_partitions: int = setting(12, int_in(1, 10_000), "partitions of the runs topic when wf creates it")
    kafka_replication_factor: int = setting(1, int_in(1, 100), "replication factor of the topics wf creates")
    kafka_group_id: str = setting("wf-workers", nonempty, "consumer group of the workers")
    kafka_enable_idempotence: bool = setting(False, _flag, "idempotent producer (off: Tansu lacks it)")
    kafka_fetch_max_wait_ms: int = setting(10, int_in(0, 10_000), "longest wait of a fetch for new messages")
    kafka_session_timeout_ms: int = setting(10_000, int_in(500, 3_600_000), "consumer group session timeout")
    kafka_heartbeat_interval_ms: int = setting(3_000, int_in(100, 3_600_000), "consumer group heartbeat interval")
    kafka_rebalance_timeout_ms: int = setting(10_000, int_in(500, 3_600_000), "consumer group rebalance timeout")
    kafka_request_timeout_ms: int = setting(5_000, int_in(500, 600_000), "how long a broker request may take")
    relay_scan_seconds: float = setting(
        1.0, float_in(0.01, 3600.0), "how often the relay looks for dispatches it was not notified of"
    )
    sweep_interval_seconds: float = setting(
        2.0, float_in(0.05, 3600.0), "how often a worker looks for runs whose lease expired"
    )
    sweep_pending_after_seconds: float = setting(
        30.0, float_in(0.0, 86_400.0), "age after which a pending run is taken by the sweep rather than the broker"
    )
    health_port: int = setting(0, _port_or_off, "port of a worker's /health, /health/ready and /metrics (0: none)")

    def kafka(self, settings: Settings, *, client_id: str = "wf") -> KafkaSettings:
        """The Kafka adapters' settings: these plus the brokers of `settings`."""
        return KafkaSettings(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            runs_topic=self.kafka_runs_topic,
            control_topic=self.kafka_control_topic,
            runs_partitions=self.kafka_runs_partitions,
            replication_factor=self.kafka_replication_factor,
            group_id=self.kafka_group_id,
            client_id=client_id,
            enable_idempotence=self.kafka_enable_idempotence,
            fetch_max_wait_ms=self.kafka_fetch_max_wait_ms,
            session_timeout_ms=self.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.kafka_heartbeat_interval_ms,
            rebalance_timeout_ms=self.kafka_rebalance_timeout_ms,
            request_timeout_ms=self.kafka_request_timeout_ms,
        )


def load_distributed_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, str] | None = None
) -> DistributedSettings:
    """The distributed settings from the environment, `overrides` (raw flag values by field name) winning.

    Raises `SettingsError` naming the first bad setting.
    """
    return load_fields(DistributedSettings, environ, overrides)


def setting_names() -> list[str]:
    """The environment variables of the distributed mode, for docs and `.env.example` checks."""
    return [env_name(field.name) for field in attrs.fields(DistributedSettings)]
