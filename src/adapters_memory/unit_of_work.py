"""The in-memory unit of work: one at a time (like SQLite's single writer), undone unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from adapters_memory.repositories import (
    MemoryAgentRepository,
    MemoryAuditLog,
    MemoryOutbox,
    MemoryRunRepository,
    MemoryWorkflowRepository,
)
from adapters_memory.store import Journal, MemoryStore
from wfcore.ports.dispatch import Outbox
from wfcore.ports.persistence import AgentRepository, AuditLog, RunRepository, WorkflowRepository


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._journal = Journal()
        # Typed as the ports, so that this class is a `UnitOfWork` (protocol attributes are invariant).
        self.agents: AgentRepository = MemoryAgentRepository(store, self._journal)
        self.workflows: WorkflowRepository = MemoryWorkflowRepository(store, self._journal)
        self.runs: RunRepository = MemoryRunRepository(store, self._journal)
        self.audit: AuditLog = MemoryAuditLog(store, self._journal)
        self.outbox: Outbox = MemoryOutbox(store, self._journal)

    async def __aenter__(self) -> Self:
        await self._store.lock.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._journal.rollback()
        finally:
            self._store.lock.release()

    async def commit(self) -> None:
        self._journal.forget()


def memory_unit_of_work(store: MemoryStore) -> MemoryUnitOfWork:
    return MemoryUnitOfWork(store)
