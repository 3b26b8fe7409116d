"""Quieter Kafka client logs: aiokafka logs an error per retry (ten a second while a broker is down)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

REPEAT_SECONDS = 30.0


class RepeatedLinesFilter(logging.Filter):
    """Lets each message template of the `aiokafka` loggers through at most once per `interval` seconds."""

    def __init__(
        self, prefix: str = "aiokafka", interval: float = REPEAT_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._prefix = prefix
        self._interval = interval
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefix):
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            return False
        self._last[key] = now
        return True


def quiet_kafka_client_logs() -> None:
    """Add the filter to every handler of the root logger (call after `configure_logging`); idempotent."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, RepeatedLinesFilter) for existing in handler.filters):
            handler.addFilter(RepeatedLinesFilter())
