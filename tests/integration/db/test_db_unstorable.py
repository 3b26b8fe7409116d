"""Text PostgreSQL cannot store (NUL, lone surrogates) and non-finite numbers: refused alike on both databases."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from contract.backends import SqlBackend
from contract.builders import agent, run, stored_workflow
from wfcore.domain.errors import InvalidInput
from wfcore.domain.ids import AgentId

UNSTORABLE = {
    "nul": "a\x00b",
    "lone surrogate": "a\ud800b",
}


@pytest.mark.parametrize("text", UNSTORABLE.values(), ids=UNSTORABLE.keys())
async def test_unstorable_text_in_a_column_is_invalid_input_and_the_transaction_goes_on(
    sql: SqlBackend, text: str
) -> None:
    async with sql.uow() as tx:
        with pytest.raises(InvalidInput) as raised:
            await tx.agents.add(agent(description=text))
        assert raised.value.errors[0].type == "unstorable_value"
        with pytest.raises(InvalidInput):
            await tx.agents.get(AgentId(text))
        kept = agent()
        await tx.agents.add(kept)
        await tx.commit()
    async with sql.uow() as tx:
        assert await tx.agents.get(kept.id) == kept


@pytest.mark.parametrize(
    "value",
    [{"text": "a\x00b"}, {"a\x00b": 1}, ["fine", {"deep": ["a\ud800b"]}], {"n": float("nan")}, float("inf")],
    ids=["nul", "nul-in-key", "surrogate", "nan", "infinity"],
)
async def test_unstorable_json_is_invalid_input(sql: SqlBackend, value: Any) -> None:
    async with sql.uow() as tx:
        flow = await stored_workflow(tx)
        with pytest.raises(InvalidInput):
            await tx.runs.add(*run(flow, input=value))


async def test_text_that_only_looks_like_an_escape_is_stored(sql: SqlBackend) -> None:
    harmless = {"backslash-u": "\\u0000", "two backslashes": "\\\\u0000", "emoji": "🙂", "\\u0000": "key"}
    async with sql.uow() as tx:
        flow = await stored_workflow(tx)
        stored, steps = run(flow, input=harmless)
        await tx.runs.add(stored, steps)
        described = agent(description="\\u0000 is how JSON writes NUL")
        await tx.agents.add(described)
        await tx.commit()
    async with sql.uow() as tx:
        assert (await tx.runs.get(stored.id)).input == harmless
        assert await tx.agents.get(described.id) == described


async def test_an_update_with_unstorable_text_changes_nothing(sql: SqlBackend) -> None:
    stored = agent()
    async with sql.uow() as tx:
        await tx.agents.add(stored)
        with pytest.raises(InvalidInput):
            await tx.agents.update(attrs.evolve(stored, url="http://127.0.0.1/\x00"))
        await tx.commit()
    async with sql.uow() as tx:
        assert await tx.agents.get(stored.id) == stored
