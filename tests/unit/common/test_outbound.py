"""The guarded outbound client: destinations are checked after resolution, at every connection
(so at every redirect hop), and the socket goes to the address that was checked."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from common.outbound import DestinationRefused, OutboundPolicy, outbound_client, refusal
from common.settings import ServiceSettings


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.10.10", "link-local"),
        ("169.254.169.254", "metadata"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.100.100.200", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("fd00:ec2::254", "metadata"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "metadata"),
        ("2002:c0a8:0101::1", "private"),  # 6to4 of 192.168.1.1
    ],
)
def test_inside_addresses_are_refused(address: str, reason: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["1.1.1.1", "202.108.22.5", "172.32.0.1", "2400:da00::6666"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def fake_dns(table: dict[str, list[str]], calls: list[str] | None = None):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


async def test_a_public_name_resolving_inside_is_refused() -> None:
    dns = fake_dns({"www.example.gov.cn": ["202.108.22.5", "10.0.0.7"], "ok.gov.cn": ["1.2.3.4"]})
    policy = OutboundPolicy(resolver=dns)
    with pytest.raises(DestinationRefused) as refused:
        await policy.resolve("www.example.gov.cn", 80)  # one inside address among public ones
    assert "10.0.0.7" not in str(refused.value)  # the message never reveals the address
    assert await policy.resolve("ok.gov.cn", 80) == ["1.2.3.4"]
    assert await OutboundPolicy(["10.0.0.0/8"], dns).resolve("www.example.gov.cn", 80)
    assert await OutboundPolicy(["WWW.Example.gov.cn."], dns).resolve("www.example.gov.cn", 80)
    with pytest.raises(DestinationRefused):
        await policy.check_url("http://[::1]:8080/hook")
    await policy.check_url("https://unknown.example/hook")  # unresolvable now: checked at send


def test_allow_list_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITCHEN_OUTBOUND_ALLOW", "127.0.0.1, 10.8.0.0/16,intranet.example")
    settings = ServiceSettings()
    assert settings.outbound_allow == ["127.0.0.1", "10.8.0.0/16", "intranet.example"]
    policy = OutboundPolicy.from_settings(settings)
    assert policy.hosts == {"intranet.example"} and len(policy.networks) == 2
    monkeypatch.setenv("KITCHEN_OUTBOUND_ALLOW", '["::1"]')
    assert ServiceSettings().outbound_allow == ["::1"]
    monkeypatch.setenv("KITCHEN_OUTBOUND_ALLOW", "http://x/")
    with pytest.raises(ValueError, match="outbound_allow"):
        ServiceSettings()
    monkeypatch.delenv("KITCHEN_OUTBOUND_ALLOW")
    assert ServiceSettings(environment="production", internal_secret="x" * 40, data_key="y" * 40)
    assert ServiceSettings().outbound_allow == []


@dataclass
class Server:
    """A bare HTTP/1.1 server on 127.0.0.1 answering each path from `routes`."""

    port: int = 0
    routes: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)  # the Host header of every request

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        path = head.split(" ", 2)[1]
        for line in head.split("\r\n")[1:]:
            if line.lower().startswith("host:"):
                self.hosts.append(line.split(":", 1)[1].strip())
        status, headers = self.routes.get(path, (200, {}))
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head = f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n{extra}"
        writer.write(f"{head}\r\nok".encode())
        await writer.drain()
        writer.close()


@asynccontextmanager
async def local_server() -> AsyncIterator[Server]:
    server = Server()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await listener.wait_closed()


async def test_loopback_is_refused_unless_allow_listed() -> None:
    async with local_server() as server:
        url = f"http://127.0.0.1:{server.port}/"
        async with outbound_client(OutboundPolicy()) as client:
            with pytest.raises(DestinationRefused):
                await client.get(url)
            with pytest.raises(httpx.HTTPError):  # callers catching httpx errors see it too
                await client.get(f"http://localhost:{server.port}/")
        assert server.hosts == []  # nothing ever connected
        async with outbound_client(OutboundPolicy(["127.0.0.1"])) as client:
            assert (await client.get(url)).status_code == 200


async def test_the_connection_goes_to_the_checked_address_with_the_host_name_kept() -> None:
    calls: list[str] = []
    async with local_server() as server:
        dns = fake_dns({"www.example.gov.cn": ["127.0.0.1"]}, calls)
        url = f"http://www.example.gov.cn:{server.port}/page"
        async with outbound_client(OutboundPolicy(resolver=dns)) as client:
            with pytest.raises(DestinationRefused):
                await client.get(url)  # public-looking, but it resolves to loopback
        assert server.hosts == []
        async with outbound_client(OutboundPolicy(["127.0.0.1"], dns)) as client:
            response = await client.get(url)
        assert response.status_code == 200 and str(response.url) == url
        assert server.hosts == [f"www.example.gov.cn:{server.port}"]
        assert calls == ["www.example.gov.cn", "www.example.gov.cn"]  # once per connection


async def test_every_redirect_hop_is_checked() -> None:
    async with local_server() as server:
        dns = fake_dns({"metadata.internal": ["169.254.169.254"]})
        server.routes = {
            "/to-metadata": (302, {"location": "http://metadata.internal/latest/meta-data/"}),
            "/to-private": (302, {"location": "http://10.20.30.40:8080/admin"}),
            "/to-self": (302, {"location": "/landing"}),
        }
        base = f"http://127.0.0.1:{server.port}"
        policy = OutboundPolicy(["127.0.0.1"], dns)
        async with outbound_client(policy, follow_redirects=True) as client:
            for path in ("/to-metadata", "/to-private"):
                with pytest.raises(DestinationRefused):
                    await client.get(base + path)
            assert (await client.get(base + "/to-self")).url.path == "/landing"
