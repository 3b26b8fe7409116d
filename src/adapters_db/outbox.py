"""The outbox: dispatches written in the transaction of the change they announce, relayed in order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from adapters_db import mappers
from adapters_db.tables import outbox
from adapters_db.transaction import Transaction
from wfcore.ports.dispatch import Dispatch

_UNSENT = outbox.c.sent_at.is_(None)
_INSERT = sa.insert(outbox)


class SqlOutbox:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, dispatch: Dispatch) -> None:
        await self._tx.execute(_INSERT, mappers.dispatch_row(dispatch))

    async def pending(self, *, limit: int) -> list[Dispatch]:
        """The oldest dispatches not yet marked sent, in the order they were added."""
        query = sa.select(outbox).where(_UNSENT).order_by(outbox.c.seq).limit(limit)
        return [mappers.dispatch_from_row(row) for row in (await self._tx.execute(query)).mappings()]

    async def mark_sent(self, dispatch_ids: Sequence[str]) -> None:
        if dispatch_ids:
            # Wall-clock time: `sent_at` is bookkeeping for pruning old rows, not part of the domain.
            sent = sa.update(outbox).where(outbox.c.id.in_(dispatch_ids), _UNSENT).values(sent_at=datetime.now(UTC))
            await self._tx.execute(sent)

    async def prune(self, *, sent_more_than: timedelta, limit: int) -> int:
        oldest = sa.select(outbox.c.id).where(outbox.c.sent_at < sa.bindparam("before")).order_by(outbox.c.seq)
        doomed = oldest.limit(limit).scalar_subquery()
        result = await self._tx.execute(
            sa.delete(outbox).where(outbox.c.id.in_(doomed)), {"before": datetime.now(UTC) - sent_more_than}
        )
        return result.rowcount

    async def backlog(self) -> int:
        count = sa.select(sa.func.count()).select_from(outbox).where(_UNSENT)
        backlog: int = (await self._tx.execute(count)).scalar_one()
        return backlog
