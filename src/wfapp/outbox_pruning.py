"""Keeping the outbox small: dispatches handed to the workers are deleted once they are an hour old.

A sent dispatch has done its work (the run and its event log tell what happened), and it is kept
a while only to show, when something goes wrong, what was relayed and when.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from wfcore.use_cases.common import UnitOfWorkFactory

log = logging.getLogger(__name__)

KEEP_SENT = timedelta(hours=1)
PRUNE_BATCH = 1000


async def prune_outbox(uow: UnitOfWorkFactory, *, keep: timedelta = KEEP_SENT) -> int:
    """Delete the dispatches sent longer ago than `keep`, a batch per transaction; how many were."""
    deleted = 0
    while True:
        async with uow() as unit:
            batch = await unit.outbox.prune(sent_more_than=keep, limit=PRUNE_BATCH)
            await unit.commit()
        deleted += batch
        if batch < PRUNE_BATCH:
            return deleted


async def prune_outbox_forever(uow: UnitOfWorkFactory, *, interval: float = 60.0) -> None:
    """`prune_outbox` every `interval` seconds until cancelled; a failure is logged and tried again."""
    while True:
        try:
            await prune_outbox(uow)
        except Exception:
            log.exception("could not prune the outbox; trying again in %.0f s", interval)
        await asyncio.sleep(interval)
