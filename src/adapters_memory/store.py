"""The in-memory database: plain dicts, one transaction at a time, rolled back unless committed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from wfcore.domain.agents import Agent
from wfcore.domain.audit import AuditEntry
from wfcore.domain.events import RunEvent
from wfcore.domain.ids import AgentId, RunId, WorkflowId
from wfcore.domain.runs import Run, StepExecution
from wfcore.domain.workflows import Workflow, WorkflowVersion
from wfcore.ports.dispatch import Dispatch

_MISSING = object()


@attrs.define
class MemoryStore:
    agents: dict[AgentId, Agent] = attrs.field(factory=dict)
    workflows: dict[WorkflowId, Workflow] = attrs.field(factory=dict)
    versions: dict[tuple[WorkflowId, int], WorkflowVersion] = attrs.field(factory=dict)
    runs: dict[RunId, Run] = attrs.field(factory=dict)
    steps: dict[RunId, dict[str, StepExecution]] = attrs.field(factory=dict)
    events: list[RunEvent] = attrs.field(factory=list)
    audit: list[AuditEntry] = attrs.field(factory=list)
    outbox: dict[str, tuple[Dispatch, datetime | None]] = attrs.field(factory=dict)  # when it was marked sent
    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock)


class Journal:
    """The undo log of one transaction."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        old = table.get(key, _MISSING)
        self._undo.append(lambda: table.pop(key, None) if old is _MISSING else table.__setitem__(key, old))
        table[key] = value

    def delete(self, table: dict[Any, Any], key: Any) -> None:
        old = table.pop(key)
        self._undo.append(lambda: table.__setitem__(key, old))

    def append(self, table: list[Any], value: Any) -> None:
        table.append(value)
        self._undo.append(table.pop)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()

    def forget(self) -> None:
        self._undo.clear()
