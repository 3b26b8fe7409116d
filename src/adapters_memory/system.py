"""Time, identifiers and randomness: the real ones, and a virtual clock for tests."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import time
import uuid
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """A clock whose sleeps finish when the test advances time (or at once with `autojump`).

    With `autojump`, a sleeper wakes as soon as every other task is idle, and time jumps to its
    deadline, so backoffs and lease renewals take no real time.
    """

    def __init__(self, start: datetime | None = None, *, autojump: bool = True) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)
        self._elapsed = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()
        self._autojump = autojump
        self._jump_scheduled = False

    def now(self) -> datetime:
        return self._now + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._elapsed + max(0.0, seconds), next(self._counter), future))
        if self._autojump and not self._jump_scheduled:
            self._jump_scheduled = True
            asyncio.get_running_loop().call_soon(self._jump_when_idle)
        await future

    def advance(self, seconds: float) -> None:
        self._elapsed += seconds
        self._wake_due()

    def _wake_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._elapsed:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    def _jump_when_idle(self) -> None:
        loop = asyncio.get_running_loop()
        # Only this checker is left to run: every task is waiting, so no one can act before the next deadline.
        if getattr(loop, "_ready", ()):
            loop.call_soon(self._jump_when_idle)
            return
        self._jump_scheduled = False
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        if self._sleepers:
            self._elapsed = max(self._elapsed, self._sleepers[0][0])
            self._wake_due()
            if self._sleepers:
                self._jump_scheduled = True
                loop.call_soon(self._jump_when_idle)


class UuidGenerator:
    """UUIDv7: time-ordered, so ids sort by creation and index well."""

    def new_id(self) -> str:
        millis = time.time_ns() // 1_000_000
        random_bits = int.from_bytes(os.urandom(10), "big")
        value = (millis & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= (random_bits >> 68 & 0xFFF) << 64
        value |= 0b10 << 62
        value |= random_bits & ((1 << 62) - 1)
        return str(uuid.UUID(int=value))
