"""Handing runs to workers. The database is the truth; a dispatch is written with the change it
announces (the outbox) and a notification after commit only makes the pick-up quicker."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from wfcore.domain.ids import RunId


class DispatchKind(enum.StrEnum):
    START = "start"
    CANCEL = "cancel"


@attrs.frozen
class Dispatch:
    id: str
    kind: DispatchKind
    run_id: RunId
    created_at: datetime
    request_id: str | None = None


class Outbox(Protocol):
    async def add(self, dispatch: Dispatch) -> None: ...

    async def pending(self, *, limit: int) -> list[Dispatch]: ...

    async def mark_sent(self, dispatch_ids: Sequence[str]) -> None: ...

    async def backlog(self) -> int: ...

    async def prune(self, *, sent_more_than: timedelta, limit: int) -> int:
        """Delete up to `limit` dispatches marked sent longer ago than `sent_more_than`; how many were."""


class RunDispatcher(Protocol):
    async def notify(self, dispatch: Dispatch) -> None:
        """Called after the dispatch was committed; must not fail the request that caused it."""
