"""Publishing dispatches to Kafka: start messages to the runs topic, cancels to the control topic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaProducer

from adapters_kafka.clients import create_producer, ensure_topics
from adapters_kafka.codec import encode
from adapters_kafka.settings import KafkaSettings
from wfcore.ports.dispatch import Dispatch, DispatchKind

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """The broker did not acknowledge every message of a batch; none of it may be marked sent."""


class KafkaPublisher:
    """Sends batches of dispatches and returns once the broker acknowledged all of them (acks=all).

    The producer is started lazily and the topics are created when missing before the first send
    and after every failure, so a broker that was down, or that came back empty, is set up again.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        producer_factory: Callable[[KafkaSettings], AIOKafkaProducer] = create_producer,
    ) -> None:
        self._settings = settings
        self._producer_factory = producer_factory
        self._producer: AIOKafkaProducer | None = None

    def topic_for(self, dispatch: Dispatch) -> str:
        """The runs topic for a start, the control topic for a cancel."""
        if dispatch.kind is DispatchKind.CANCEL:
            return self._settings.control_topic
        return self._settings.runs_topic

    async def publish(self, dispatches: Sequence[Dispatch]) -> None:
        """Send `dispatches` in order, keyed by run id; raises `PublishError` unless all were acknowledged."""
        if not dispatches:
            return
        timeout = self._settings.request_timeout_ms / 1000 + 1.0
        try:
            async with asyncio.timeout(timeout):
                producer = await self._ready()
                acks = []
                for dispatch in dispatches:
                    message = encode(dispatch)
                    acks.append(
                        await producer.send(
                            self.topic_for(dispatch), message.value, key=message.key, headers=message.headers
                        )
                    )
                await asyncio.gather(*acks)
        except Exception as error:
            await self.close()
            reason = _describe(error)
            raise PublishError(f"the broker did not acknowledge {len(dispatches)} messages: {reason}") from error

    async def _ready(self) -> AIOKafkaProducer:
        if self._producer is None:
            await ensure_topics(self._settings)
            producer = self._producer_factory(self._settings)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def close(self) -> None:
        """Stop the producer (a later `publish` starts a new one)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except Exception:
                log.debug("the producer did not stop cleanly", exc_info=True)


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no acknowledgement in time"
    return str(error) or type(error).__name__
