"""The agent client: calls agents over HTTP for the `AgentInvoker` port, behind an SSRF guard."""

from adapters_http.client.guard import DestinationGuard, DestinationRefused, GuardedResolver
from adapters_http.client.invoker import HttpAgentInvoker
from adapters_http.client.settings import DEFAULT_DENIED_NETWORKS, AgentClientSettings, parse_networks

__all__ = [
    "DEFAULT_DENIED_NETWORKS",
    "AgentClientSettings",
    "DestinationGuard",
    "DestinationRefused",
    "GuardedResolver",
    "HttpAgentInvoker",
    "parse_networks",
]
