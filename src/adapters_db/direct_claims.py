"""PostgreSQL: the engine's claim in two statements, each committed on its own, in place of a transaction's five.

The claim is `SqlRunRepository.claim`'s compare-and-set; the reads that follow it (the steps, and the
agents the version names, aggregated as JSON) are a second statement, so they see every write committed
before the claim took the lease, the earlier holder's last ones included.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from adapters_db import direct
from adapters_db.engine import Database
from adapters_db.mappers import agent_from_row, run_from_row, step_from_row
from adapters_db.tables import agents, step_executions
from adapters_db.transaction import unstorable
from adapters_db.types import UnstorableValue, UtcDateTime, as_utc, storable_text
from wfcore.domain.ids import RunId
from wfcore.domain.runs import Run, RunStatus
from wfcore.ports.persistence import ExecutionReads
from wfcore.ports.system import SecretBox

# The rule of `SqlRunRepository.claim`: an unfinished run whose lease is free (released, expired, never taken).
_CLAIM = f"""
UPDATE runs SET lease_token = COALESCE(lease_token, 0) + 1, lease_owner = $2, lease_expires_at = $3
WHERE id = $1 AND status IN ('{RunStatus.PENDING.value}', '{RunStatus.RUNNING.value}')
    AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= $4)
RETURNING *
"""
_READS = """
SELECT
    (SELECT json_agg(step ORDER BY step.position) FROM step_executions AS step WHERE step.run_id = $1) AS steps,
    (
        SELECT json_agg(agent) FROM agents AS agent
        WHERE agent.deleted_at IS NULL AND (agent.id = ANY ($2::text[]) OR agent.name = ANY ($2::text[]))
    ) AS agents
"""
_STEP_TIMES = direct.columns_of(step_executions, UtcDateTime)
_AGENT_TIMES = direct.columns_of(agents, UtcDateTime)


class PostgresDirectClaims:
    """`DirectClaims` on a PostgreSQL `Database`."""

    def __init__(self, database: Database, secret_box: SecretBox) -> None:
        self._database = database
        self._secret_box = secret_box

    async def claim(self, run_id: RunId, *, owner: str, now: datetime, expires_at: datetime) -> Run | None:
        try:
            arguments = (storable_text(run_id), storable_text(owner), as_utc(expires_at), as_utc(now))
        except UnstorableValue as error:
            raise unstorable(error) from None  # as the column types refuse it on the other paths
        rows = await direct.fetch(self._database, _CLAIM, *arguments)
        return run_from_row(rows[0]) if rows else None

    async def execution_reads(self, run_id: RunId, agent_references: Collection[str]) -> ExecutionReads:
        [row] = await direct.fetch(self._database, _READS, run_id, list(agent_references))
        steps = [direct.with_times(step, _STEP_TIMES) for step in row["steps"] or []]
        found = [direct.with_times(agent, _AGENT_TIMES) for agent in row["agents"] or []]
        return ExecutionReads(
            steps=[step_from_row(step) for step in steps],
            agents=[agent_from_row(agent, self._secret_box) for agent in found],
        )


def direct_claims_for(database: Database, secret_box: SecretBox) -> PostgresDirectClaims | None:
    """The engine's claim in two statements on PostgreSQL; None on SQLite, whose statements cost no round trip."""
    return PostgresDirectClaims(database, secret_box) if database.dialect == "postgresql" else None
