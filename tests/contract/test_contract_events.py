"""The run event log: a global, increasing `seq`; reading a run's events after a given one."""

from __future__ import annotations

from contract.builders import at, committed_run, run, stored_workflow
from wfcore.domain.events import EventType, RunEvent
from wfcore.use_cases.common import UnitOfWorkFactory


async def test_events_come_back_in_order_with_increasing_seq_and_after_a_seq(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx)
        first, first_steps = run(flow)
        other, other_steps = run(flow)
        await tx.runs.add(first, first_steps)
        await tx.runs.add(other, other_steps)
        await tx.runs.append_events(
            [
                RunEvent(run_id=first.id, type=EventType.RUN_CREATED, at=at(0), data={"attempt": 1}),
                RunEvent(run_id=other.id, type=EventType.RUN_CREATED, at=at(0)),
            ]
        )
        await tx.commit()
    async with uow() as tx:
        await tx.runs.append_events([])
        await tx.runs.append_events(
            [
                RunEvent(run_id=first.id, type=EventType.STEP_STARTED, at=at(1), step_id="first"),
                RunEvent(
                    run_id=first.id,
                    type=EventType.STEP_FAILED,
                    at=at(2),
                    step_id="first",
                    data={"code": "agent_error", "nested": {"list": [1, None]}},
                ),
            ]
        )
        await tx.commit()
    async with uow() as tx:
        events = await tx.runs.events(first.id)
        assert [(event.type, event.step_id, event.at, event.data) for event in events] == [
            (EventType.RUN_CREATED, None, at(0), {"attempt": 1}),
            (EventType.STEP_STARTED, "first", at(1), {}),
            (EventType.STEP_FAILED, "first", at(2), {"code": "agent_error", "nested": {"list": [1, None]}}),
        ]
        seqs = [event.seq or 0 for event in events]
        assert all(seq > 0 for seq in seqs)
        assert seqs == sorted(set(seqs))
        assert {event.run_id for event in events} == {first.id}
        assert await tx.runs.events(first.id, after_seq=events[0].seq or 0) == events[1:]
        assert await tx.runs.events(first.id, after_seq=events[-1].seq or 0) == []
        others = await tx.runs.events(other.id)
        assert [(event.type, event.run_id) for event in others] == [(EventType.RUN_CREATED, other.id)]


async def test_events_that_were_not_committed_are_not_kept(uow: UnitOfWorkFactory) -> None:
    stored = await committed_run(uow)
    async with uow() as tx:
        await tx.runs.append_events([RunEvent(run_id=stored.id, type=EventType.RUN_STARTED, at=at(1))])
    async with uow() as tx:
        assert await tx.runs.events(stored.id) == []
