"""Capped exponential backoff with jitter, for retrying a broker or a database that is down."""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs


@attrs.define
class Backoff:
    """The delays before successive retries: `initial * multiplier**n`, at most `cap`, jittered.

    `reset()` after a success starts the sequence again.
    """

    initial: float = 0.1
    cap: float = 5.0
    multiplier: float = 2.0
    random: Callable[[], float] = random.random
    _failures: int = attrs.field(default=0, init=False)

    def next_delay(self) -> float:
        """The delay before the next retry, counting one more failure."""
        ceiling = min(self.cap, self.initial * self.multiplier**self._failures)
        self._failures = min(self._failures + 1, 64)
        return ceiling * (0.5 + 0.5 * self.random())

    def reset(self) -> None:
        """After a success: the next delay is `initial` again."""
        self._failures = 0

    @property
    def failures(self) -> int:
        """Failures since the last success."""
        return self._failures
