"""The SSRF guard: refused destinations are never connected to, whether named literally or through DNS."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from adapters_http.client import (
    DEFAULT_DENIED_NETWORKS,
    AgentClientSettings,
    DestinationGuard,
    DestinationRefused,
    parse_networks,
)
from fixtures.agents import DemoAgent, InvokerFactory, agent_at, call_to


class StaticResolver(AbstractResolver):
    """Answers names from a fixed table, standing in for DNS so no test needs an external resolver."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self._table = table

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self._table:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the test's table")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in self._table[host]
        ]

    async def close(self) -> None:
        return None


def resolving(table: dict[str, list[str]]) -> Callable[[], AbstractResolver]:
    return lambda: StaticResolver(table)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[fe80::1]/", "fe80::1"),
        ("http://[fe80::1%25eth0]/", "fe80::1%eth0"),
        ("http://[::ffff:169.254.169.254]/", "169.254.169.254"),
        ("http://100.100.100.200/", "100.100.100.200"),
        ("https://[fd00:ec2::254]/", "fd00:ec2::254"),
        ("http://0.0.0.0:8080/", "0.0.0.0"),
        ("http://2852039166/", "2852039166"),
        ("http://0251.0376.0251.0376/", "0251.0376.0251.0376"),
        ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
    ],
)
async def test_a_denied_literal_address_is_refused(make_invoker: InvokerFactory, url: str, shown: str) -> None:
    reply = await make_invoker().invoke(call_to(agent_at(url), {}))

    assert reply.error_code == "destination_refused"
    assert not reply.retryable
    assert reply.http_status is None
    assert shown in (reply.error_message or "")


async def test_a_name_resolving_to_a_denied_address_is_refused(
    make_invoker: InvokerFactory, demo_agent: DemoAgent
) -> None:
    invoker = make_invoker(resolver_factory=resolving({"metadata.test": ["169.254.169.254"]}))

    reply = await invoker.invoke(call_to(agent_at("http://metadata.test/latest/meta-data/"), {}))

    assert reply.error_code == "destination_refused"
    assert not reply.retryable
    assert "169.254.169.254" in (reply.error_message or "")
    assert "metadata.test" in (reply.error_message or "")


@pytest.mark.parametrize(
    "addresses", [["127.0.0.1", "169.254.169.254"], ["::ffff:169.254.169.254"]], ids=["one-of-many", "ipv4-mapped"]
)
async def test_a_name_is_refused_when_any_address_it_resolves_to_is_denied(
    make_invoker: InvokerFactory, demo_agent: DemoAgent, addresses: list[str]
) -> None:
    invoker = make_invoker(resolver_factory=resolving({"rebind.test": addresses}))
    url = demo_agent.url("/echo").replace("127.0.0.1", "rebind.test")

    reply = await invoker.invoke(call_to(agent_at(url), {}))

    assert reply.error_code == "destination_refused"
    assert demo_agent.calls() == []


async def test_a_name_resolving_to_an_allowed_address_is_called(
    make_invoker: InvokerFactory, demo_agent: DemoAgent
) -> None:
    invoker = make_invoker(resolver_factory=resolving({"agent.test": ["127.0.0.1"]}))
    url = demo_agent.url("/echo").replace("127.0.0.1", "agent.test")

    reply = await invoker.invoke(call_to(agent_at(url), {"hello": "agent"}))

    assert reply.output == {"hello": "agent"}


async def test_a_name_that_does_not_resolve_is_a_connection_error(make_invoker: InvokerFactory) -> None:
    invoker = make_invoker(resolver_factory=resolving({}))

    reply = await invoker.invoke(call_to(agent_at("http://nowhere.test/echo"), {}))

    assert reply.error_code == "connection_error"
    assert reply.retryable


async def test_a_redirect_to_a_denied_address_is_not_followed(
    make_invoker: InvokerFactory, demo_agent: DemoAgent
) -> None:
    location = "http://169.254.169.254/latest/meta-data/iam/"

    reply = await make_invoker().invoke(call_to(agent_at(demo_agent.url("/redirect")), {"location": location}))

    assert reply.error_code == "agent_error"
    assert not reply.retryable
    assert reply.http_status == 302
    assert location in (reply.error_message or "")
    assert [call.path for call in demo_agent.calls()] == ["/redirect"]


async def test_loopback_is_allowed_by_default(make_invoker: InvokerFactory, demo_agent: DemoAgent) -> None:
    reply = await make_invoker().invoke(call_to(agent_at(demo_agent.url("/echo")), "hi"))

    assert reply.output == "hi"


async def test_an_allow_list_refuses_every_other_address(make_invoker: InvokerFactory, demo_agent: DemoAgent) -> None:
    settings = AgentClientSettings.create(allowed_networks=["10.0.0.0/8"])
    invoker = make_invoker(settings, resolver_factory=resolving({"agent.test": ["127.0.0.1"]}))

    literal = await invoker.invoke(call_to(agent_at(demo_agent.url("/echo")), {}))
    named = await invoker.invoke(call_to(agent_at(demo_agent.url("/echo").replace("127.0.0.1", "agent.test")), {}))

    for reply in (literal, named):
        assert reply.error_code == "destination_refused"
        assert "outside the allowed networks (10.0.0.0/8)" in (reply.error_message or "")
    assert demo_agent.calls() == []


async def test_an_allow_list_lets_its_networks_through(make_invoker: InvokerFactory, demo_agent: DemoAgent) -> None:
    invoker = make_invoker(AgentClientSettings.create(allowed_networks=["10.0.0.0/8", "127.0.0.0/8"]))

    reply = await invoker.invoke(call_to(agent_at(demo_agent.url("/echo")), 1))

    assert reply.ok


async def test_a_denied_network_wins_over_an_allowed_one(make_invoker: InvokerFactory, demo_agent: DemoAgent) -> None:
    settings = AgentClientSettings.create(allowed_networks=["127.0.0.0/8"], denied_networks=["127.0.0.1/32"])

    reply = await make_invoker(settings).invoke(call_to(agent_at(demo_agent.url("/echo")), {}))

    assert reply.error_code == "destination_refused"
    assert "denied network 127.0.0.1/32" in (reply.error_message or "")


async def test_only_http_and_https_are_called(make_invoker: InvokerFactory) -> None:
    reply = await make_invoker().invoke(call_to(agent_at("ftp://127.0.0.1/file"), {}))

    assert reply.error_code == "destination_refused"
    assert "only http and https" in (reply.error_message or "")


async def test_a_health_check_of_a_denied_address_is_unreachable(make_invoker: InvokerFactory) -> None:
    agent = agent_at("http://169.254.169.254/run", health_url="http://169.254.169.254/health")

    result = await make_invoker().check_health(agent)

    assert result.status == "unreachable"
    assert "169.254.169.254" in (result.detail or "")


def test_an_ipv4_mapped_address_is_judged_as_its_ipv4_address() -> None:
    guard = DestinationGuard(allowed=parse_networks("127.0.0.0/8"), denied=DEFAULT_DENIED_NETWORKS)

    guard.check_address(ipaddress.ip_address("::ffff:127.0.0.1"), "::ffff:127.0.0.1")
    with pytest.raises(DestinationRefused, match="outside the allowed networks") as refused:
        guard.check_address(ipaddress.ip_address("::ffff:10.0.0.1"), "::ffff:10.0.0.1")
    assert refused.value.address == "::ffff:a00:1"


def test_parse_networks_reads_a_comma_separated_cidr_list() -> None:
    assert parse_networks(" 10.0.0.0/8, fd00::/8,,192.168.1.7 ") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
        ipaddress.ip_network("192.168.1.7/32"),
    )
    assert parse_networks("") == ()


@pytest.mark.parametrize("raw", ["10.0.0.0/8,nope", "10.0.0.0/33", "fd00::/8, 300.1.1.1"])
def test_parse_networks_names_what_is_not_a_network(raw: str) -> None:
    bad = raw.split(",")[-1].strip()

    with pytest.raises(ValueError, match=re.escape(f"'{bad}' is not a CIDR network")):
        parse_networks(raw)


def test_settings_keep_the_default_denied_networks_unless_given() -> None:
    assert AgentClientSettings.create().denied_networks == DEFAULT_DENIED_NETWORKS
    assert AgentClientSettings.create(denied_networks=[]).denied_networks == ()
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/99' is not a CIDR network")):
        AgentClientSettings.create(allowed_networks=["10.0.0.0/99"])
