"""Prometheus metrics: the `Telemetry` port, HTTP request metrics and the `/metrics` text."""

from adapters_prometheus.metrics import Metrics

__all__ = ["Metrics"]
