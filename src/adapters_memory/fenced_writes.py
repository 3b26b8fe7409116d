"""`FencedWrites` through units of work: the in-memory store's, and the reference the SQL one is tested against."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from wfcore.domain.ids import RunId
from wfcore.ports.persistence import HeldChange
from wfcore.use_cases.common import UnitOfWorkFactory
from wfcore.use_cases.group_commit import on_current_lease, save_changes


@attrs.frozen
class TransactionalFencedWrites:
    """Locks the runs, keeps the changes that still apply, and saves them, in one unit of work."""

    uow: UnitOfWorkFactory

    async def save_if_unchanged(self, changes: Sequence[HeldChange]) -> set[RunId]:
        async with self.uow() as uow:
            stored = await uow.runs.get_many([change.expected.id for change in changes], for_update=True)
            applying = [
                (stored[change.expected.id], change)
                for change in changes
                if change.expected.id in stored and change.still_applies_to(stored[change.expected.id])
            ]
            await save_changes(
                uow,
                [
                    (
                        current,
                        on_current_lease((change.run, [*change.steps], [*change.events]), change.expected, current),
                    )
                    for current, change in applying
                ],
            )
            await uow.commit()
        return {current.id for current, _ in applying}
