"""The errors the domain raises. Adapters map them to their own protocols (HTTP problem details)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import attrs

Loc = tuple[str | int, ...]


@attrs.frozen
class ErrorDetail:
    """One thing wrong with an input: where (`loc`), what (`msg`) and a stable machine `type`."""

    loc: Loc
    msg: str
    type: str

    def nested(self, *prefix: str | int) -> ErrorDetail:
        return attrs.evolve(self, loc=(*prefix, *self.loc))


class WfError(Exception):
    """Root of every error the service raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(WfError):
    code = "not_found"

    def __init__(self, *, entity: str, entity_id: str) -> None:
        super().__init__(f"{entity} {entity_id!r} was not found")
        self.entity = entity
        self.entity_id = entity_id


class Conflict(WfError):
    code = "conflict"


class TransientConflict(Conflict):
    """The transaction collided with a concurrent one (a deadlock, a serialization failure) and was rolled
    back whole: running the same command again is safe, and will most likely succeed."""


class DuplicateIdempotencyKey(Conflict):
    """Raised by a repository when another run took the same key first (a concurrent duplicate)."""

    code = "duplicate_idempotency_key"


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, *, entity: str, entity_id: str, current: str, requested: str) -> None:
        super().__init__(f"{entity} {entity_id} is {current}: it cannot become {requested}")
        self.entity = entity
        self.entity_id = entity_id
        self.current = current
        self.requested = requested


class InvalidInput(WfError):
    code = "invalid"

    def __init__(self, *, errors: Sequence[ErrorDetail], message: str = "The input is not valid") -> None:
        super().__init__(message)
        self.errors = tuple(errors)


class InvalidDefinition(InvalidInput):
    code = "invalid_definition"

    def __init__(self, *, errors: Sequence[ErrorDetail]) -> None:
        super().__init__(errors=errors, message="The workflow definition is not valid")


class LeaseLost(WfError):
    """A worker tried to write to a run whose lease it no longer holds (its fencing token is stale)."""

    code = "lease_lost"

    def __init__(self, *, run_id: str, token: int) -> None:
        super().__init__(f"run {run_id}: lease token {token} is no longer current")
        self.run_id = run_id
        self.token = token


class ServiceUnavailable(WfError):
    code = "unavailable"


class Problems:
    """Collects every error of an input so that all are reported at once, not only the first."""

    def __init__(self) -> None:
        self.errors: list[ErrorDetail] = []

    def add(self, loc: Loc, msg: str, type_: str) -> None:
        self.errors.append(ErrorDetail(loc=loc, msg=msg, type=type_))

    def extend(self, errors: Iterable[ErrorDetail], *prefix: str | int) -> None:
        self.errors.extend(error.nested(*prefix) for error in errors)

    def __iter__(self) -> Iterator[ErrorDetail]:
        return iter(self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_invalid(self) -> None:
        if self.errors:
            raise InvalidInput(errors=self.errors)

    def raise_invalid_definition(self) -> None:
        if self.errors:
            raise InvalidDefinition(errors=self.errors)
