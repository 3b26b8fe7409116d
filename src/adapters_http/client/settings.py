"""How the agent client behaves: which networks it may reach, how much it reads, how it names itself."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from importlib import metadata

import attrs

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Link-local ranges (which hold the cloud metadata services), "this network", Alibaba's metadata
# address and AWS's IPv6 metadata address.
DEFAULT_DENIED_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in ("169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "100.100.100.200/32", "fd00:ec2::254/128")
)
DEFAULT_MAX_RESPONSE_BYTES = 1_048_576


def parse_networks(raw: str) -> tuple[Network, ...]:
    """The networks of a comma-separated CIDR list such as `10.0.0.0/8, fd00::/8` (empty parts ignored).

    Raises ValueError naming the first part that is not a CIDR network.
    """
    return tuple(_network(part.strip()) for part in raw.split(",") if part.strip())


def _network(cidr: str | Network) -> Network:
    if isinstance(cidr, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return cidr
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise ValueError(f"{cidr!r} is not a CIDR network such as 10.0.0.0/8 or fd00::/8") from None


def default_user_agent() -> str:
    """`wf/<installed version>`."""
    try:
        return f"wf/{metadata.version('wf')}"
    except metadata.PackageNotFoundError:
        return "wf"


@attrs.frozen
class AgentClientSettings:
    """Settings of `HttpAgentInvoker`.

    An empty `allowed_networks` allows every address that no denied network holds; a non-empty one
    allows only addresses inside it (and still outside every denied network).
    """

    allowed_networks: tuple[Network, ...] = ()
    denied_networks: tuple[Network, ...] = DEFAULT_DENIED_NETWORKS
    max_response_bytes: int = attrs.field(default=DEFAULT_MAX_RESPONSE_BYTES, validator=attrs.validators.gt(0))
    user_agent: str = attrs.field(factory=default_user_agent)

    @classmethod
    def create(
        cls,
        *,
        allowed_networks: Iterable[str | Network] = (),
        denied_networks: Iterable[str | Network] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        user_agent: str | None = None,
    ) -> AgentClientSettings:
        """Settings from CIDR strings or networks; `denied_networks=None` keeps the default denied list.

        Raises ValueError naming a string that is not a CIDR network.
        """
        return cls(
            allowed_networks=tuple(_network(cidr) for cidr in allowed_networks),
            denied_networks=DEFAULT_DENIED_NETWORKS
            if denied_networks is None
            else tuple(_network(cidr) for cidr in denied_networks),
            max_response_bytes=max_response_bytes,
            user_agent=user_agent or default_user_agent(),
        )
