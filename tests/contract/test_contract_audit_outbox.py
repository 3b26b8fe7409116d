"""The audit log (filters, newest first, pages) and the outbox (pending in order, mark sent, backlog)."""

from __future__ import annotations

from datetime import timedelta

from contract.builders import at, audit_entry, dispatch
from wfcore.domain.audit import AuditEntry, EntityType
from wfcore.domain.ids import RunId
from wfcore.ports.dispatch import DispatchKind
from wfcore.ports.persistence import AuditQuery, Page
from wfcore.use_cases.common import UnitOfWorkFactory


async def test_audit_entries_read_back_newest_first(uow: UnitOfWorkFactory) -> None:
    oldest = audit_entry(seconds=1, changes={"auth_config": ({"token": "***"}, None), "timeout_ms": (100, 200)})
    newest = audit_entry(seconds=3, request_id=None)
    middle = audit_entry(seconds=2)
    async with uow() as tx:
        for entry in (oldest, middle, newest):
            await tx.audit.append(entry)
        await tx.commit()
    async with uow() as tx:
        assert (await tx.audit.list(AuditQuery())).items == [newest, middle, oldest]


async def test_entries_at_the_same_instant_come_latest_appended_first(uow: UnitOfWorkFactory) -> None:
    entries = [audit_entry(f"e-{index}", seconds=5) for index in range(3)]
    async with uow() as tx:
        for entry in entries:
            await tx.audit.append(entry)
        await tx.commit()
    async with uow() as tx:
        assert (await tx.audit.list(AuditQuery())).items == entries[::-1]


async def test_audit_filters_and_pages(uow: UnitOfWorkFactory) -> None:
    entries = {
        "a": audit_entry("agent-1", seconds=1, action="create"),
        "b": audit_entry("agent-1", seconds=2, user_id="bob"),
        "c": audit_entry("run-1", seconds=3, entity_type=EntityType.RUN, action="cancel"),
        "d": audit_entry("agent-2", seconds=4, user_id="bob", action="delete"),
        "e": audit_entry("wf-1", seconds=5, entity_type=EntityType.WORKFLOW),
    }
    async with uow() as tx:
        for entry in entries.values():
            await tx.audit.append(entry)
        await tx.commit()
    names = {entry.id: name for name, entry in entries.items()}

    async def listed(query: AuditQuery) -> list[str]:
        async with uow() as tx:
            return _names(await tx.audit.list(query), names)

    assert await listed(AuditQuery(entity_type=EntityType.AGENT)) == ["d", "b", "a"]
    assert await listed(AuditQuery(entity_type=EntityType.AGENT, entity_id="agent-1")) == ["b", "a"]
    assert await listed(AuditQuery(user_id="bob")) == ["d", "b"]
    assert await listed(AuditQuery(action="cancel")) == ["c"]
    assert await listed(AuditQuery(since=at(2), until=at(4))) == ["c", "b"]
    async with uow() as tx:
        page = await tx.audit.list(AuditQuery(limit=2, offset=2))
    assert (_names(page, names), page.total, page.limit, page.offset) == (["c", "b"], 5, 2, 2)


async def test_the_outbox_hands_out_unsent_dispatches_in_order(uow: UnitOfWorkFactory) -> None:
    run_id = RunId("0190a8f2-0000-7000-8000-000000000001")
    # Added out of time order: the outbox keeps the order of adding, as a queue.
    first, second, third = dispatch(run_id, seconds=3), dispatch(run_id, kind=DispatchKind.CANCEL), dispatch(run_id)
    async with uow() as tx:
        assert await tx.outbox.pending(limit=10) == []
        assert await tx.outbox.backlog() == 0
        for item in (first, second, third):
            await tx.outbox.add(item)
        await tx.commit()
    async with uow() as tx:
        assert await tx.outbox.pending(limit=10) == [first, second, third]
        assert await tx.outbox.pending(limit=2) == [first, second]
        assert await tx.outbox.backlog() == 3
        await tx.outbox.mark_sent([first.id, "no-such-dispatch"])
        await tx.outbox.mark_sent([])
        await tx.commit()
    async with uow() as tx:
        assert await tx.outbox.pending(limit=10) == [second, third]
        assert await tx.outbox.backlog() == 2
        await tx.outbox.mark_sent([second.id, third.id])
        # Not committed: the dispatches stay pending.
    async with uow() as tx:
        assert await tx.outbox.backlog() == 2


async def test_pruning_deletes_dispatches_sent_longer_ago_than_asked_oldest_first(uow: UnitOfWorkFactory) -> None:
    run_id = RunId("0190a8f2-0000-7000-8000-000000000001")
    sent, unsent = [dispatch(run_id) for _ in range(3)], dispatch(run_id)
    async with uow() as tx:
        for item in (*sent, unsent):
            await tx.outbox.add(item)
        await tx.outbox.mark_sent([item.id for item in sent])
        await tx.commit()
    async with uow() as tx:
        assert await tx.outbox.prune(sent_more_than=timedelta(hours=1), limit=10) == 0, "sent only now"
        assert await tx.outbox.prune(sent_more_than=timedelta(0), limit=2) == 2
        assert await tx.outbox.prune(sent_more_than=timedelta(0), limit=2) == 1
        await tx.commit()
    async with uow() as tx:
        assert await tx.outbox.pending(limit=10) == [unsent], "an unsent dispatch is never pruned"
        assert await tx.outbox.prune(sent_more_than=timedelta(0), limit=10) == 0


def _names(page: Page[AuditEntry], names: dict[str, str]) -> list[str]:
    return [names[entry.id] for entry in page.items]
