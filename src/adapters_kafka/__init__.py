"""Kafka adapters (aiokafka): the message schema, the outbox relay, and the worker's consumer loops.

- `codec`: the versioned JSON envelope of start and cancel messages, and its tolerant decoder.
- `relay` + `publisher`: the outbox relay, the distributed mode's `RunDispatcher`.
- `consumer`: the worker loop on the runs topic (claim, then commit); `control`: cancels, broadcast.
- `clients`: the aiokafka clients with wf's options, topic creation, the broker probe.
"""

from adapters_kafka.codec import RunMessage, decode, encode
from adapters_kafka.consumer import RunConsumer, RunTaker
from adapters_kafka.control import CancelListener
from adapters_kafka.publisher import KafkaPublisher, PublishError
from adapters_kafka.relay import OutboxRelay, RelayStats
from adapters_kafka.settings import KafkaSettings

__all__ = [
    "CancelListener",
    "KafkaPublisher",
    "KafkaSettings",
    "OutboxRelay",
    "PublishError",
    "RelayStats",
    "RunConsumer",
    "RunMessage",
    "RunTaker",
    "decode",
    "encode",
]
