"""The unit of work: one database transaction, rolled back unless committed."""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Self

import attrs

from adapters_db.audit import SqlAuditLog
from adapters_db.engine import Database
from adapters_db.outbox import SqlOutbox
from adapters_db.repositories import SqlAgentRepository, SqlWorkflowRepository
from adapters_db.runs import SqlRunRepository
from adapters_db.transaction import Transaction
from wfcore.ports.dispatch import Outbox
from wfcore.ports.persistence import AgentRepository, AuditLog, RunRepository, WorkflowRepository
from wfcore.ports.system import SecretBox


class SqlUnitOfWork:
    """One transaction on `database`. Work done after the last `commit` is rolled back at the end of the block.

    Serialization failures and deadlocks (PostgreSQL) surface as `Conflict`: the block cannot be
    replayed from here, so the command is retried by its caller.
    """

    agents: AgentRepository
    workflows: WorkflowRepository
    runs: RunRepository
    audit: AuditLog
    outbox: Outbox

    def __init__(self, database: Database, secret_box: SecretBox) -> None:
        self._database = database
        self._secret_box = secret_box
        self._exit_stack = contextlib.AsyncExitStack()
        self._tx: Transaction | None = None

    async def __aenter__(self) -> Self:
        tx = Transaction(await self._exit_stack.enter_async_context(self._database.connect()))
        self._tx = tx
        self.agents = SqlAgentRepository(tx, self._secret_box)
        self.workflows = SqlWorkflowRepository(tx)
        self.runs = SqlRunRepository(tx)
        self.audit = SqlAuditLog(tx)
        self.outbox = SqlOutbox(tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._tx = None
        await self._exit_stack.aclose()

    async def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("commit() outside the unit of work's `async with` block")
        await self._tx.commit()


@attrs.frozen
class SqlUnitOfWorkFactory:
    """What use cases are given as `uow`: each call is a new unit of work on `database`."""

    database: Database
    secret_box: SecretBox

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database, self.secret_box)
