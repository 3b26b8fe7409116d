"""Pruning the outbox: old sent dispatches go, a batch per transaction; unsent ones stay."""

from __future__ import annotations

from datetime import timedelta

from adapters_memory.store import MemoryStore
from adapters_memory.unit_of_work import MemoryUnitOfWork
from contract.builders import dispatch
from wfapp.outbox_pruning import PRUNE_BATCH, prune_outbox
from wfcore.domain.ids import RunId

RUN = RunId("0190a8f2-0000-7000-8000-000000000001")


async def test_every_old_sent_dispatch_is_deleted_however_many_batches_it_takes() -> None:
    store = MemoryStore()
    sent = [dispatch(RUN) for _ in range(PRUNE_BATCH + 1)]
    unsent = dispatch(RUN)
    async with MemoryUnitOfWork(store) as tx:
        for item in (*sent, unsent):
            await tx.outbox.add(item)
        await tx.outbox.mark_sent([item.id for item in sent])
        await tx.commit()

    assert await prune_outbox(lambda: MemoryUnitOfWork(store), keep=timedelta(hours=1)) == 0
    assert await prune_outbox(lambda: MemoryUnitOfWork(store), keep=timedelta(0)) == PRUNE_BATCH + 1
    assert list(store.outbox) == [unsent.id]
