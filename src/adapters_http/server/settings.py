"""What the composition root tells the HTTP server."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

MIB = 1024 * 1024


@attrs.frozen
class HttpSettings:
    """Limits, authentication and behaviour of the HTTP API."""

    version: str = "0.0.0"
    """The service version, shown by `GET /health`."""
    max_body_bytes: int = MIB
    """Request bodies above this are a 413."""
    max_json_depth: int = 64
    """JSON nested deeper than this is a 400."""
    api_keys: Mapping[str, str] = attrs.field(factory=dict)
    """Key name -> key. Empty: authentication is off. The name of the key used becomes the audit user."""
    dependency_errors: tuple[type[BaseException], ...] = ()
    """Exception classes meaning "a dependency is down" (a 503), such as the database driver's."""
    retry_after_seconds: int = 5
    """The `Retry-After` of a 503."""
    event_poll_seconds: float = 0.1
    """How often the event stream of a live run looks for new events."""
    readiness_timeout_seconds: float = 5.0
    """How long one readiness check may take before it counts as failed."""
