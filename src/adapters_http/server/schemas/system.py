"""Liveness and readiness bodies (contract §6)."""

from __future__ import annotations

import attrs

from adapters_http.server.schemas.common import doc


@attrs.frozen
class LivenessResponse:
    status: str = attrs.field(metadata=doc("Always `ok`: the process serves requests."))
    version: str = attrs.field(metadata=doc("The service version."))


@attrs.frozen
class ReadinessResult:
    """The outcome of one readiness check (the database, the broker...)."""

    name: str = attrs.field(metadata=doc("What was checked."))
    ok: bool = attrs.field(metadata=doc("Whether it is usable."))
    detail: str | None = attrs.field(default=None, metadata=doc("Why not, or what was found."))
    latency_ms: float | None = attrs.field(default=None, metadata=doc("How long the check took."))


@attrs.frozen
class ReadinessResponse:
    status: str = attrs.field(metadata=doc("`ok` when every check passed, else `unavailable` (a 503)."))
    checks: list[ReadinessResult] = attrs.field(metadata=doc("Each dependency's check."))
