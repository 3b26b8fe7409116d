"""The run repository: runs with their step executions, event log and lease.

The lease is a compare-and-set on the run row. A claim bumps `lease_token`, the fencing token; an
`update` made with a lease includes `lease_token = :token` in its WHERE, so a worker that lost its
lease cannot change the run. The engine's writes go through `get_many(for_update=True)`, whose caller
checks the tokens on the locked rows, then `save_progress`. These are the hot paths: each is one or
two Core statements.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from adapters_db import mappers
from adapters_db.paging import fetch_page, order_by, time_range
from adapters_db.tables import run_events, runs, step_executions
from adapters_db.transaction import Transaction
from wfcore.domain.errors import DuplicateIdempotencyKey, LeaseLost, NotFound
from wfcore.domain.events import RunEvent
from wfcore.domain.ids import RunId, WorkflowId
from wfcore.domain.runs import Run, RunStatus, StepExecution
from wfcore.ports.persistence import Page, RunQuery

_SORTS = {"created_at": runs.c.created_at, "started_at": runs.c.started_at, "finished_at": runs.c.finished_at}
_UNFINISHED = runs.c.status.in_([RunStatus.PENDING.value, RunStatus.RUNNING.value])
_NOW = sa.bindparam("now", type_=runs.c.lease_expires_at.type)
# Released, expired, or never taken: the rule of `Lease.is_free`.
_LEASE_FREE = sa.or_(runs.c.lease_owner.is_(None), runs.c.lease_expires_at.is_(None), runs.c.lease_expires_at <= _NOW)
_THIS_RUN = runs.c.id == sa.bindparam("key_id")
_HELD_WITH = runs.c.lease_token == sa.bindparam("key_token")

# The hot-path statements are built once: SQLAlchemy then reuses their compiled form and cache key.
# Parameters named after columns fill an UPDATE's SET clause; the `key_` ones its WHERE clause.
_INSERT_RUN = sa.insert(runs)
_INSERT_STEPS = sa.insert(step_executions)
_INSERT_EVENTS = sa.insert(run_events)
_SELECT_RUN = sa.select(runs).where(_THIS_RUN)
_SELECT_RUN_FOR_UPDATE = _SELECT_RUN.with_for_update()  # SQLite ignores it: its single writer isolates already
# Ordered, so that transactions locking overlapping sets of runs take the locks in one order and never deadlock.
_SELECT_RUNS = sa.select(runs).where(runs.c.id.in_(sa.bindparam("key_ids", expanding=True))).order_by(runs.c.id)
_SELECT_RUNS_FOR_UPDATE = _SELECT_RUNS.with_for_update()
_UPDATE_RUN = sa.update(runs).where(_THIS_RUN)
_UPDATE_RUN_FENCED = _UPDATE_RUN.where(_HELD_WITH)
_UPDATE_STEP = sa.update(step_executions).where(
    step_executions.c.run_id == sa.bindparam("key_run_id"), step_executions.c.step_id == sa.bindparam("key_step_id")
)
_SELECT_STEPS = (
    sa.select(step_executions)
    .where(step_executions.c.run_id == sa.bindparam("key_run_id"))
    .order_by(step_executions.c.position)
)
_SELECT_EVENTS = (
    sa.select(run_events)
    .where(run_events.c.run_id == sa.bindparam("key_run_id"), run_events.c.seq > sa.bindparam("after_seq"))
    .order_by(run_events.c.seq)
)
_CLAIM = (
    sa.update(runs)
    .where(_THIS_RUN, _UNFINISHED, _LEASE_FREE)
    .values(lease_token=sa.func.coalesce(runs.c.lease_token, 0) + 1)
    .returning(*runs.c)
)
_RENEW = sa.update(runs).where(_THIS_RUN, _HELD_WITH, runs.c.lease_owner.is_not(None))
_RELEASE = sa.update(runs).where(_THIS_RUN, _HELD_WITH).values(lease_owner=None, lease_expires_at=None)
_CLAIMABLE = (
    sa.select(runs.c.id)
    .where(_UNFINISHED, sa.or_(runs.c.status == RunStatus.PENDING.value, _LEASE_FREE))
    .order_by(runs.c.created_at, runs.c.id)
    .limit(sa.bindparam("limit"))
)
_FRESH_PENDING = sa.and_(
    runs.c.status == RunStatus.PENDING.value,
    sa.func.coalesce(runs.c.lease_token, 0) == 0,
    runs.c.created_at > sa.bindparam("pending_before", type_=runs.c.created_at.type),
)
_CLAIMABLE_BUT_FRESH_PENDING = _CLAIMABLE.where(sa.not_(_FRESH_PENDING))


class SqlRunRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, run: Run, steps: Sequence[StepExecution]) -> None:
        if run.idempotency_key is None:  # its id is new: nothing can collide
            await self._tx.execute(_INSERT_RUN, mappers.run_row(run))
        else:
            duplicate = DuplicateIdempotencyKey("a run with this idempotency key exists already")
            await self._tx.insert_unique(runs, mappers.run_row(run), duplicate)
        if steps:
            await self._tx.execute(_INSERT_STEPS, mappers.new_step_rows(steps))

    async def get(self, run_id: RunId, *, for_update: bool = False) -> Run:
        query = _SELECT_RUN_FOR_UPDATE if for_update else _SELECT_RUN
        row = (await self._tx.execute(query, {"key_id": run_id})).mappings().one_or_none()
        if row is None:
            raise NotFound(entity="run", entity_id=run_id)
        return mappers.run_from_row(row)

    async def get_many(self, run_ids: Sequence[RunId], *, for_update: bool = False) -> dict[RunId, Run]:
        query = _SELECT_RUNS_FOR_UPDATE if for_update else _SELECT_RUNS
        rows = (await self._tx.execute(query, {"key_ids": list(run_ids)})).mappings()
        return {RunId(row["id"]): mappers.run_from_row(row) for row in rows}

    async def find_by_idempotency_key(self, workflow_id: WorkflowId, key: str) -> Run | None:
        query = sa.select(runs).where(runs.c.workflow_id == workflow_id, runs.c.idempotency_key == key)
        row = (await self._tx.execute(query)).mappings().one_or_none()
        return None if row is None else mappers.run_from_row(row)

    async def update(self, run: Run, steps: Sequence[StepExecution] = ()) -> None:
        """Write the run and `steps` (which `add` created); with `run.lease`, only under that lease."""
        values = {"key_id": run.id, **mappers.run_row(run)}
        if run.lease is None:
            result = await self._tx.execute(_UPDATE_RUN, values)
        else:
            result = await self._tx.execute(_UPDATE_RUN_FENCED, {"key_token": run.lease.token, **values})
        if result.rowcount == 0:
            await self.get(run.id)  # NotFound when there is no such run
            if run.lease is not None:
                raise LeaseLost(run_id=run.id, token=run.lease.token)
        await self._update_steps(steps)

    async def save_progress(self, changed: Sequence[Run], steps: Sequence[StepExecution]) -> None:
        if changed:
            rows = [{"key_id": run.id, **mappers.run_progress_row(run)} for run in changed]
            await self._tx.execute(_UPDATE_RUN, rows)
        await self._update_steps(steps)

    async def _update_steps(self, steps: Sequence[StepExecution]) -> None:
        if steps:
            keyed = [{"key_run_id": s.run_id, "key_step_id": s.step_id, **mappers.step_row(s)} for s in steps]
            await self._tx.execute(_UPDATE_STEP, keyed)

    async def steps(self, run_id: RunId) -> builtins.list[StepExecution]:
        rows = (await self._tx.execute(_SELECT_STEPS, {"key_run_id": run_id})).mappings()
        return [mappers.step_from_row(row) for row in rows]

    async def append_events(self, events: Sequence[RunEvent]) -> None:
        if events:
            await self._tx.execute(_INSERT_EVENTS, [mappers.event_row(event) for event in events])

    async def events(self, run_id: RunId, *, after_seq: int = 0) -> builtins.list[RunEvent]:
        rows = (await self._tx.execute(_SELECT_EVENTS, {"key_run_id": run_id, "after_seq": after_seq})).mappings()
        return [mappers.event_from_row(row) for row in rows]

    async def list(self, query: RunQuery) -> Page[Run]:
        where: builtins.list[sa.ColumnElement[bool]] = []
        if query.workflow_id is not None:
            where.append(runs.c.workflow_id == query.workflow_id)
        if query.statuses:
            where.append(runs.c.status.in_([status.value for status in query.statuses]))
        if query.triggered_by is not None:
            where.append(runs.c.triggered_by == query.triggered_by)
        where.extend(time_range(runs.c.created_at, query.created_after, query.created_before))
        ordering = order_by(query.sort, _SORTS, runs.c.id)
        return await fetch_page(self._tx, runs, where, ordering, query.limit, query.offset, mappers.run_from_row)

    async def claim(self, run_id: RunId, *, owner: str, now: datetime, expires_at: datetime) -> Run | None:
        values = {"key_id": run_id, "now": now, "lease_owner": owner, "lease_expires_at": expires_at}
        row = (await self._tx.execute(_CLAIM, values)).mappings().one_or_none()
        return None if row is None else mappers.run_from_row(row)

    async def renew(self, run_id: RunId, *, token: int, expires_at: datetime) -> bool:
        """Extend the lease held with `token`; False when it was taken over or released."""
        values = {"key_id": run_id, "key_token": token, "lease_expires_at": expires_at}
        return bool((await self._tx.execute(_RENEW, values)).rowcount)

    async def release(self, run_id: RunId, *, token: int) -> None:
        # The token stays, so the next claim still bumps it and a stale holder stays fenced out.
        await self._tx.execute(_RELEASE, {"key_id": run_id, "key_token": token})

    async def claimable(
        self, *, now: datetime, limit: int, pending_before: datetime | None = None
    ) -> builtins.list[RunId]:
        values = {"now": now, "limit": limit, "pending_before": pending_before}
        query = _CLAIMABLE if pending_before is None else _CLAIMABLE_BUT_FRESH_PENDING
        return [RunId(run_id) for run_id in (await self._tx.execute(query, values)).scalars()]
