"""What a claimed run's execution reads: its steps, and the agents its workflow version names.

An agent is named by id or by name (`resolve_agent`). The reads return the candidates, the live agents
matching any reference either way, and `pick_agent` chooses among them by the same rule, so that a
database can find them all in one statement.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from wfcore.domain.agents import Agent
from wfcore.domain.errors import InvalidDefinition, NotFound
from wfcore.domain.ids import RunId, is_uuid
from wfcore.domain.workflows import CompiledWorkflow
from wfcore.ports.persistence import ExecutionReads, UnitOfWork
from wfcore.use_cases.workflows import resolve_agent


def agent_references(workflow: CompiledWorkflow | InvalidDefinition) -> set[str]:
    """The agents the workflow's steps name; none for a version that cannot run."""
    if isinstance(workflow, InvalidDefinition):
        return set()
    return {step.definition.agent for step in workflow.steps.values()}


def pick_agent(candidates: Iterable[Agent], reference: str) -> Agent | None:
    """The agent `resolve_agent` finds for `reference`, among candidates that hold it if it exists."""
    by_name = None
    for agent in candidates:
        if agent.id == reference and is_uuid(reference):
            return agent
        if agent.name == reference:
            by_name = agent
    return by_name


async def read_for_execution(uow: UnitOfWork, run_id: RunId, references: Collection[str]) -> ExecutionReads:
    """`DirectClaims.execution_reads` through a unit of work."""
    steps = await uow.runs.steps(run_id)
    found: dict[str, Agent] = {}
    for reference in references:
        try:
            agent = await resolve_agent(uow.agents, reference)
        except NotFound:
            continue
        found[agent.id] = agent
    return ExecutionReads(steps=steps, agents=list(found.values()))
