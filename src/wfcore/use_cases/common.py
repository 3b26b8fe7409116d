"""What every use case is built with and called with."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from wfcore.ports.persistence import UnitOfWork
from wfcore.ports.system import Clock, IdGenerator

UnitOfWorkFactory = Callable[[], UnitOfWork]


@attrs.frozen
class Actor:
    """Who asked, for audit entries and correlation: the principal and the request id."""

    user_id: str = "anonymous"
    request_id: str | None = None


@attrs.frozen
class Services:
    """The ports that nearly every use case needs."""

    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
