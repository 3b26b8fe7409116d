"""What the server reports about itself: request metrics, and the `/metrics` exposition."""

from __future__ import annotations

from typing import Protocol


class RequestMetrics(Protocol):
    """Receives one record per request and renders the metrics text (the composition root supplies it)."""

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None: ...

    async def exposition(self) -> tuple[bytes, str]:
        """The metrics in the Prometheus text format, and its content type."""
