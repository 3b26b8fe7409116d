"""How wf talks to Kafka: brokers, topic names and sizes, and the client timings."""

from __future__ import annotations

import attrs


@attrs.frozen
class KafkaSettings:
    """Everything the Kafka adapters need; `wfapp` builds it from `WF_KAFKA_*` settings.

    The runs topic carries start messages keyed by run id (a consumer group of workers shares its
    partitions); the control topic carries cancel messages that every worker reads (a broadcast).
    """

    bootstrap_servers: tuple[str, ...]
    runs_topic: str = "wf.runs"
    control_topic: str = "wf.control"
    runs_partitions: int = 12
    control_partitions: int = 1
    replication_factor: int = 1
    group_id: str = "wf-workers"
    client_id: str = "wf"
    enable_idempotence: bool = False
    """Idempotent producer: off by default because some Kafka-protocol brokers (Tansu) lack it."""
    fetch_max_wait_ms: int = 10
    """How long a fetch waits for data: the main term of the produce-to-consume latency."""
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    rebalance_timeout_ms: int = 10_000
    request_timeout_ms: int = 5_000
    metadata_max_age_ms: int = 5_000
    """How often clients refresh metadata, so that topics recreated after a broker reset are found."""
    linger_ms: int = 0
    max_poll_records: int = 500

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers as aiokafka takes them: `host:port,host:port`."""
        return ",".join(self.bootstrap_servers)

    def group_timeouts(self) -> dict[str, int]:
        """Consumer group keyword arguments of `AIOKafkaConsumer`."""
        return {
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "rebalance_timeout_ms": self.rebalance_timeout_ms,
        }
