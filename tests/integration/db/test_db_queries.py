"""Queries the edge should have refused: both databases refuse them alike, as invalid input."""

from __future__ import annotations

import pytest

from contract.backends import SqlBackend
from contract.builders import agent
from wfcore.domain.errors import InvalidInput
from wfcore.ports.persistence import AgentQuery, AuditQuery, RunQuery, Sort


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        (AgentQuery(limit=-1), ("limit",)),
        (AgentQuery(offset=-5), ("offset",)),
        (AgentQuery(sort=Sort("url")), ("sort",)),
    ],
    ids=["negative-limit", "negative-offset", "unknown-sort"],
)
async def test_an_invalid_page_or_sort_is_invalid_input(sql: SqlBackend, query: AgentQuery, loc: tuple[str]) -> None:
    async with sql.uow() as tx:
        await tx.agents.add(agent())
        with pytest.raises(InvalidInput) as raised:
            await tx.agents.list(query)
    assert raised.value.errors[0].loc == loc


async def test_runs_and_audit_entries_refuse_the_same(sql: SqlBackend) -> None:
    async with sql.uow() as tx:
        with pytest.raises(InvalidInput):
            await tx.runs.list(RunQuery(sort=Sort("name")))
        with pytest.raises(InvalidInput):
            await tx.audit.list(AuditQuery(offset=-1))
