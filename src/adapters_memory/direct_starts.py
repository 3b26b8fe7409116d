"""`DirectStarts` through a unit of work: the reference the SQL one is tested against, and the unit tests'."""

from __future__ import annotations

import attrs

from wfcore.domain.errors import DuplicateIdempotencyKey, NotFound
from wfcore.domain.workflows import WorkflowStatus
from wfcore.ports.persistence import NewRun
from wfcore.use_cases.common import UnitOfWorkFactory
from wfcore.use_cases.execution import store_new_run


@attrs.frozen
class TransactionalDirectStarts:
    """The conditions read, and the run stored, in one unit of work."""

    uow: UnitOfWorkFactory

    async def start(self, new: NewRun, *, latest_version: int | None) -> bool:
        run = new.run
        async with self.uow() as uow:
            try:
                workflow = await uow.workflows.get(run.workflow_id)
                await uow.workflows.get_version(run.workflow_id, run.workflow_version)
            except NotFound:
                return False
            if workflow.status is not WorkflowStatus.ACTIVE:
                return False
            if latest_version is not None and workflow.latest_version != latest_version:
                return False
            try:
                await store_new_run(uow, new)
            except DuplicateIdempotencyKey:
                return False
            await uow.commit()
        return True
