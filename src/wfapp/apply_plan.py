"""What `wf workflows apply` does with each file, whichever store the workflows live in.

The plan for one document: check it as the service would (shape, then every rule of the definition
on its own), look up the live workflow of that name, and compare the document with the latest
version's stored one. A new workflow is created, a changed one gets a new version, an unchanged one
is left alone; in a dry run only the store's `validate` is called, which checks the agents too.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs

from adapters_http.server.converter import structure
from adapters_http.server.schemas.workflows import WorkflowBody
from wfapp.apply_documents import WorkflowFile
from wfcore.domain.errors import ErrorDetail, InvalidInput, WfError
from wfcore.domain.workflows import WorkflowStatus, compile_definition

# What a stored version adds to the document sent (`WorkflowMeta`); `status` is not among them: it is
# part of the definition, and the server shows the workflow's status whether or not it was sent.
SERVER_FIELDS = frozenset({"id", "version", "created_at", "created_by", "updated_at"})


@attrs.frozen
class StoredWorkflow:
    """The live workflow of a name: its id, latest version and that version as the API returns it."""

    id: str
    version: int
    document: Mapping[str, Any]


class StoreUnavailable(Exception):
    """The store cannot be used at all (unreachable, credentials refused, failing): applying stops."""


class WorkflowStore(Protocol):
    """Where workflows are stored: the local database, or a wf server over HTTP.

    Every method raises `InvalidInput` (with `errors`) for a document the service refuses, another
    `WfError` for a refusal about the workflow as a whole (a name taken meanwhile), and
    `StoreUnavailable` when the store cannot be used at all.
    """

    async def find(self, name: str) -> StoredWorkflow | None:
        """The live (not deleted) workflow named exactly `name`, with its latest version."""

    async def validate(self, document: Mapping[str, Any]) -> None:
        """Check `document` as creating it would (agents included), storing nothing."""

    async def create(self, document: Mapping[str, Any]) -> int:
        """Create a workflow from `document`; its version (1)."""

    async def update(self, workflow_id: str, document: Mapping[str, Any]) -> int:
        """Store `document` as the workflow's next version; that version's number."""


class Action(enum.StrEnum):
    """What applying a file did, or in a dry run would do."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    INVALID = "invalid"


@attrs.frozen
class KeyChanges:
    """Which top-level fields of a document differ from the stored one."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@attrs.frozen
class Outcome:
    """What happened to one file (or, in a dry run, would happen)."""

    path: Path
    action: Action
    name: str | None = None
    version: int | None = None
    previous_version: int | None = None
    changes: KeyChanges = KeyChanges()
    errors: tuple[ErrorDetail, ...] = ()


def comparable(document: Mapping[str, Any]) -> dict[str, Any]:
    """The definition part of a document: server fields left out, `status` spelled out (default active)."""
    fields = {key: value for key, value in document.items() if key not in SERVER_FIELDS}
    fields.setdefault("status", WorkflowStatus.ACTIVE.value)
    return fields


def key_changes(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> KeyChanges:
    """The top-level differences between two documents, compared as JSON values."""
    old, new = comparable(stored), comparable(wanted)
    return KeyChanges(
        added=tuple(key for key in new if key not in old),
        removed=tuple(key for key in old if key not in new),
        changed=tuple(key for key in new if key in old and _canonical(old[key]) != _canonical(new[key])),
    )


def _canonical(value: Any) -> str:
    """`value` as JSON text telling `true` from `1` but not `1` from `1.0` (a database may turn one into the other)."""
    return json.dumps(_integral(value), sort_keys=True, ensure_ascii=False)


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value


def check_document(document: Mapping[str, Any]) -> str:
    """The document's workflow name, once it passed every check that needs no store; else `InvalidInput`."""
    definition = structure(dict(document), WorkflowBody).to_definition()
    compile_definition(definition)
    return definition.name


@attrs.define
class Applier:
    """Applies workflow files to one store, one file at a time; a file's failure does not stop the others."""

    store: WorkflowStore
    dry_run: bool = False
    _names: dict[str, Path] = attrs.field(factory=dict, init=False)

    async def apply(self, file: WorkflowFile) -> Outcome:
        """Create, update or leave the workflow of `file`; `Action.INVALID` with the errors when it cannot."""
        if file.document is None:
            return Outcome(path=file.path, action=Action.INVALID, errors=file.errors)
        try:
            name = check_document(file.document)
        except InvalidInput as error:
            return Outcome(path=file.path, action=Action.INVALID, errors=error.errors)
        if name in self._names:
            twice = ErrorDetail(
                loc=("name",), msg=f"{self._names[name]} defines the workflow {name!r} already", type="duplicate"
            )
            return Outcome(path=file.path, action=Action.INVALID, name=name, errors=(twice,))
        self._names[name] = file.path
        try:
            return await self._apply(file.path, name, file.document)
        except InvalidInput as error:
            return Outcome(path=file.path, action=Action.INVALID, name=name, errors=error.errors)
        except WfError as error:
            detail = ErrorDetail(loc=(), msg=error.message, type=error.code)
            return Outcome(path=file.path, action=Action.INVALID, name=name, errors=(detail,))

    async def _apply(self, path: Path, name: str, document: Mapping[str, Any]) -> Outcome:
        stored = await self.store.find(name)
        if stored is None:
            version = None
            if self.dry_run:
                await self.store.validate(document)
            else:
                version = await self.store.create(document)
            return Outcome(path=path, action=Action.CREATE, name=name, version=version)
        changes = key_changes(stored.document, document)
        if not changes:
            return Outcome(path=path, action=Action.UNCHANGED, name=name, version=stored.version)
        if self.dry_run:
            await self.store.validate(document)
            version = stored.version + 1
        else:
            version = await self.store.update(stored.id, document)
        return Outcome(
            path=path,
            action=Action.UPDATE,
            name=name,
            version=version,
            previous_version=stored.version,
            changes=changes,
        )


def count(outcomes: Iterable[Outcome]) -> dict[Action, int]:
    """How many files ended in each action, every action listed."""
    totals = dict.fromkeys(Action, 0)
    for outcome in outcomes:
        totals[outcome.action] += 1
    return totals
