"""Run leases: claim as compare-and-set, fencing tokens, renew, release, and runs waiting for a worker."""

from __future__ import annotations

import asyncio

import attrs
import pytest

from contract.builders import at, committed_run, committed_runs, run, stored_workflow
from wfcore.domain.errors import LeaseLost
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Lease, Run, RunStatus, StepStatus
from wfcore.use_cases.common import UnitOfWorkFactory


async def _claim(uow: UnitOfWorkFactory, run_id: RunId, owner: str, now: float, until: float) -> Run | None:
    async with uow() as tx:
        claimed = await tx.runs.claim(run_id, owner=owner, now=at(now), expires_at=at(until))
        await tx.commit()
    return claimed


async def test_a_claim_takes_a_free_lease_and_bumps_the_token(uow: UnitOfWorkFactory) -> None:
    stored = await committed_run(uow)
    claimed = await _claim(uow, stored.id, "worker-a", now=0, until=30)
    assert claimed == attrs.evolve(stored, lease=Lease(owner="worker-a", expires_at=at(30), token=1))
    async with uow() as tx:
        assert await tx.runs.get(stored.id) == claimed


async def test_a_held_lease_cannot_be_claimed_until_it_expires(uow: UnitOfWorkFactory) -> None:
    stored = await committed_run(uow)
    await _claim(uow, stored.id, "worker-a", now=0, until=30)
    assert await _claim(uow, stored.id, "worker-b", now=29, until=60) is None
    taken_over = await _claim(uow, stored.id, "worker-b", now=30, until=60)
    assert taken_over is not None
    assert taken_over.lease == Lease(owner="worker-b", expires_at=at(60), token=2)


async def test_of_two_concurrent_claimers_exactly_one_wins(uow: UnitOfWorkFactory) -> None:
    stored = await committed_run(uow)
    results = await asyncio.gather(*(_claim(uow, stored.id, f"worker-{n}", now=0, until=30) for n in range(4)))
    winners = [claimed for claimed in results if claimed is not None]
    assert len(winners) == 1
    assert winners[0].lease is not None
    assert winners[0].lease.token == 1


@pytest.mark.parametrize("status", [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED])
async def test_finished_and_unknown_runs_cannot_be_claimed(uow: UnitOfWorkFactory, status: RunStatus) -> None:
    stored = await committed_run(uow, status=status)
    assert await _claim(uow, stored.id, "worker-a", now=0, until=30) is None
    assert await _claim(uow, RunId("0190a8f2-0000-7000-8000-000000000000"), "worker-a", now=0, until=30) is None


async def test_an_update_under_a_stale_token_is_refused(uow: UnitOfWorkFactory) -> None:
    stored = await committed_run(uow)
    stale = await _claim(uow, stored.id, "worker-a", now=0, until=30)
    current = await _claim(uow, stored.id, "worker-b", now=31, until=60)
    assert stale is not None
    assert current is not None
    async with uow() as tx:
        with pytest.raises(LeaseLost):
            await tx.runs.update(stale.start(at=at(32)))
        await tx.runs.update(current.start(at=at(33)))
        await tx.commit()
    async with uow() as tx:
        stored_now = await tx.runs.get(stored.id)
    assert (stored_now.status, stored_now.started_at, stored_now.lease) == (RunStatus.RUNNING, at(33), current.lease)


async def test_an_update_without_a_lease_keeps_the_stored_lease(uow: UnitOfWorkFactory) -> None:
    stored = await committed_run(uow)
    claimed = await _claim(uow, stored.id, "worker-a", now=0, until=30)
    assert claimed is not None
    async with uow() as tx:
        await tx.runs.update(attrs.evolve(stored, cancel_requested_at=at(5), cancelled_by="bob"))
        await tx.commit()
    async with uow() as tx:
        updated = await tx.runs.get(stored.id)
    assert (updated.cancel_requested_at, updated.lease) == (at(5), claimed.lease)


async def test_renew_extends_only_the_current_lease(uow: UnitOfWorkFactory) -> None:
    stored = await committed_run(uow)
    await _claim(uow, stored.id, "worker-a", now=0, until=30)
    async with uow() as tx:
        assert await tx.runs.renew(stored.id, token=1, expires_at=at(90)) is True
        assert await tx.runs.renew(stored.id, token=7, expires_at=at(500)) is False
        await tx.commit()
    assert await _claim(uow, stored.id, "worker-b", now=60, until=120) is None
    taken_over = await _claim(uow, stored.id, "worker-b", now=90, until=120)
    assert taken_over is not None
    async with uow() as tx:
        assert await tx.runs.renew(stored.id, token=1, expires_at=at(500)) is False


async def test_release_frees_the_lease_but_keeps_the_token(uow: UnitOfWorkFactory) -> None:
    stored = await committed_run(uow)
    await _claim(uow, stored.id, "worker-a", now=0, until=30)
    async with uow() as tx:
        await tx.runs.release(stored.id, token=99)
        assert (await tx.runs.get(stored.id)).lease == Lease(owner="worker-a", expires_at=at(30), token=1)
        await tx.runs.release(stored.id, token=1)
        assert (await tx.runs.get(stored.id)).lease == Lease(owner=None, expires_at=None, token=1)
        await tx.commit()
    reclaimed = await _claim(uow, stored.id, "worker-b", now=1, until=30)
    assert reclaimed is not None
    assert reclaimed.lease == Lease(owner="worker-b", expires_at=at(30), token=2)


async def test_a_released_lease_cannot_be_renewed(uow: UnitOfWorkFactory) -> None:
    stored = await committed_run(uow)
    await _claim(uow, stored.id, "worker-a", now=0, until=30)
    async with uow() as tx:
        await tx.runs.release(stored.id, token=1)
        assert await tx.runs.renew(stored.id, token=1, expires_at=at(60)) is False


async def test_claimable_lists_pending_runs_and_running_runs_with_expired_leases(uow: UnitOfWorkFactory) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx)
        made = {
            "pending": run(flow, created=5),
            "expired": run(flow, created=1, status=RunStatus.RUNNING),
            "held": run(flow, created=2, status=RunStatus.RUNNING),
            "unleased": run(flow, created=3, status=RunStatus.RUNNING),
            "done": run(flow, created=0, status=RunStatus.SUCCEEDED),
            "claimed-pending": run(flow, created=4),
        }
        for stored, steps in made.values():
            await tx.runs.add(stored, steps)
        await tx.commit()
    ids = {stored.id: name for name, (stored, _) in made.items()}
    await _claim(uow, made["expired"][0].id, "worker-a", now=0, until=10)
    await _claim(uow, made["held"][0].id, "worker-a", now=0, until=100)
    await _claim(uow, made["claimed-pending"][0].id, "worker-a", now=0, until=100)
    async with uow() as tx:
        waiting = [ids[run_id] for run_id in await tx.runs.claimable(now=at(50), limit=10)]
        first_two = [ids[run_id] for run_id in await tx.runs.claimable(now=at(50), limit=2)]
    assert waiting == ["expired", "unleased", "claimed-pending", "pending"]
    assert first_two == ["expired", "unleased"]


async def test_claimable_with_pending_before_leaves_fresh_never_claimed_pending_runs_out(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as tx:
        flow = await stored_workflow(tx)
        made = {
            "old-pending": run(flow, created=1),
            "fresh-pending": run(flow, created=40),
            "fresh-released": run(flow, created=41),
            "fresh-expired": run(flow, created=42, status=RunStatus.RUNNING),
        }
        for stored, steps in made.values():
            await tx.runs.add(stored, steps)
        await tx.commit()
    ids = {stored.id: name for name, (stored, _) in made.items()}
    released = await _claim(uow, made["fresh-released"][0].id, "worker-a", now=41, until=45)
    assert released is not None
    async with uow() as tx:
        await tx.runs.release(released.id, token=1)
        await tx.commit()
    await _claim(uow, made["fresh-expired"][0].id, "worker-a", now=42, until=45)
    async with uow() as tx:
        due = [ids[run_id] for run_id in await tx.runs.claimable(now=at(50), limit=10, pending_before=at(30))]
    assert due == ["old-pending", "fresh-released", "fresh-expired"]


async def test_get_many_returns_the_runs_found_and_leaves_unknown_ids_out(uow: UnitOfWorkFactory) -> None:
    first, second = await committed_runs(uow, 2)
    unknown = RunId("0190a8f2-0000-7000-8000-000000000000")
    async with uow() as tx:
        assert await tx.runs.get_many([second.id, unknown, first.id], for_update=True) == {
            first.id: first,
            second.id: second,
        }
        assert await tx.runs.get_many([]) == {}


async def test_save_progress_writes_the_state_steps_and_lease_holder_of_several_runs(uow: UnitOfWorkFactory) -> None:
    first, second = await committed_runs(uow, 2)
    held = [await _claim(uow, run.id, "worker-a", now=0, until=30) for run in (first, second)]
    assert held[0] is not None
    assert held[1] is not None
    async with uow() as tx:
        steps = {run.id: await tx.runs.steps(run.id) for run in held}
    running = held[0].start(at=at(1))
    assert running.lease is not None
    finished = attrs.evolve(
        held[1].start(at=at(1)).succeed(output={"answer": 42}, at=at(2)), lease=held[1].lease.released()
    )
    started_step = steps[first.id][0].to(StepStatus.RUNNING, input={"text": "hi"}, started_at=at(1))
    skipped_step = steps[second.id][1].to(StepStatus.SKIPPED, finished_at=at(2))
    async with uow() as tx:
        await tx.runs.save_progress([running, finished], [started_step, skipped_step])
        await tx.commit()
    async with uow() as tx:
        assert await tx.runs.get_many([first.id, second.id]) == {first.id: running, second.id: finished}
        assert (await tx.runs.steps(first.id))[0] == started_step
        assert (await tx.runs.steps(second.id))[1] == skipped_step
