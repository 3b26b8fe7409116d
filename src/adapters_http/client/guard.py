"""The SSRF guard: which addresses agent calls may connect to, checked after name resolution."""

from __future__ import annotations

import functools
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from adapters_http.client.settings import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")


class DestinationRefused(Exception):
    """An agent call's destination is not allowed: a scheme other than http/https, or a refused address."""

    def __init__(self, message: str, *, address: str | None = None) -> None:
        super().__init__(message)
        self.address = address


class DestinationGuard:
    """Decides whether an address may be connected to, from allowed and denied networks.

    An IPv4-mapped IPv6 address (`::ffff:169.254.169.254`) is judged as the IPv4 address it carries,
    since that is where a connection to it goes.
    """

    def __init__(self, allowed: tuple[Network, ...], denied: tuple[Network, ...]) -> None:
        self._allowed = allowed
        self._denied = denied
        # Every call to an agent checks its URL, and agents are few: remember the URLs let through.
        self.check_url = functools.lru_cache(maxsize=1024)(self._check_url)

    def check_address(self, address: Address, host: str) -> None:
        """Raise DestinationRefused when `address` (which `host` names) may not be connected to."""
        target = _unmapped(address)
        reason = self._refusal(target)
        if reason is not None:
            shown = _describe(address, target, host)
            raise DestinationRefused(f"refused to call {shown}: {reason}", address=str(address))

    def _refusal(self, target: Address) -> str | None:
        denied = next((network for network in self._denied if target in network), None)
        if denied is not None:
            return f"the address is in the denied network {denied}"
        if self._allowed and not any(target in network for network in self._allowed):
            return f"the address is outside the allowed networks ({', '.join(map(str, self._allowed))})"
        return None

    def _check_url(self, raw_url: str) -> None:
        """Refuse a URL that is malformed, not http/https, or whose host is a refused literal IP address.

        Host names are checked later, on every address they resolve to (`GuardedResolver`).
        """
        try:
            url = URL(raw_url)
        except ValueError:
            raise DestinationRefused(f"refused to call {raw_url!r}: not a valid URL") from None
        if url.scheme not in ALLOWED_SCHEMES:
            raise DestinationRefused(f"refused to call {url}: only http and https URLs are called")
        host = url.host or ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return
        self.check_address(address, host)


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _describe(address: Address, target: Address, host: str) -> str:
    shown = str(address) if target == address else f"{address} (IPv4 {target})"
    return shown if host == str(address) else f"{shown} (resolved from {host})"


class GuardedResolver(AbstractResolver):
    """Resolves with another resolver, then refuses the host when any address it resolved to is refused.

    Checking here, on the addresses the connector is about to connect to, means a name that resolves
    to an allowed address once and to a metadata address later (DNS rebinding) is still caught.
    It owns the resolver it wraps: closing this closes that one.
    """

    def __init__(self, guard: DestinationGuard, resolver: AbstractResolver) -> None:
        self._guard = guard
        self._resolver = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            self._guard.check_address(ipaddress.ip_address(result["host"]), host)
        return results

    async def close(self) -> None:
        await self._resolver.close()
