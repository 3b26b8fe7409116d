"""Identifiers. They are UUID strings; the NewTypes keep one kind of id from being passed for another."""

from typing import NewType
from uuid import UUID

AgentId = NewType("AgentId", str)
WorkflowId = NewType("WorkflowId", str)
RunId = NewType("RunId", str)


def is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
