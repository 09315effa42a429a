"""The one HTTP client for calls to the outside world (crawler, link checks, outbound webhooks,
channel adapters): it cannot be pointed at the hub's own network (SSRF).

Every TCP connection is checked where it is opened, in an httpcore network backend: the host is
resolved, every address it resolves to is checked, and the socket is connected to one of those
checked addresses — never resolved a second time, so a DNS answer that changes between the check
and the connect (rebinding) changes nothing. TLS still verifies (and sends as SNI) the host name,
and the Host header is the URL's. Since each redirect hop to another origin opens its own
connection, every hop is checked, whoever follows the redirects.

Refused unless allow-listed (`KITCHEN_OUTBOUND_ALLOW`: addresses, CIDRs or exact host names):
loopback, private, link-local, shared (CGNAT), unique-local, multicast, unspecified, reserved and
other non-global addresses, and cloud metadata endpoints. Calls between the hub's own services
(gateway → services, distribute → ingest) are internal and do not use this client.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Cloud instance metadata (AWS/GCP/Azure/OpenStack, AWS over IPv6, Alibaba Cloud, Oracle Cloud).
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
# Named ranges, checked in this order; anything else that is not globally routable is refused too.
FORBIDDEN: tuple[tuple[str, IPNetwork], ...] = tuple(
    (name, ipaddress.ip_network(cidr))
    for name, cidr in (
        ("unspecified", "0.0.0.0/8"),
        ("loopback", "127.0.0.0/8"),
        ("private", "10.0.0.0/8"),
        ("private", "172.16.0.0/12"),
        ("private", "192.168.0.0/16"),
        ("shared (CGNAT)", "100.64.0.0/10"),
        ("link-local", "169.254.0.0/16"),
        ("multicast", "224.0.0.0/4"),
        ("reserved", "240.0.0.0/4"),
        ("unspecified", "::/128"),
        ("loopback", "::1/128"),
        ("link-local", "fe80::/10"),
        ("unique-local", "fc00::/7"),
        ("multicast", "ff00::/8"),
    )
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class DestinationRefused(httpx.TransportError):
    """The destination is not one the hub may connect to; `str()` names the host, never the
    address it resolved to (that would tell a caller about the internal network)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"destination not allowed: {host}")
        self.host = host
        self.reason = reason  # for logs only


def refusal(address: IPAddress) -> str | None:
    """Why connecting to `address` is refused by default, or None for a global address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = refusal(embedded)
            if inner:
                return inner
    if address in METADATA:
        return "metadata"
    for name, network in FORBIDDEN:
        if address.version == network.version and address in network:
            return name
    if address.is_multicast:
        return "multicast"
    if not address.is_global:
        return "not globally routable"
    return None


def _canonical_host(host: str) -> str:
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the event loop's getaddrinfo, off the loop thread)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for *_, sockaddr in infos:
        seen[str(sockaddr[0]).split("%", 1)[0]] = None
    return list(seen)


class OutboundPolicy:
    """Which destinations are allowed: global addresses, plus the allow-list's networks and
    exact host names (`allow`, e.g. `["127.0.0.1", "10.8.0.0/16", "intranet.example.gov.cn"]`)."""

    def __init__(self, allow: Iterable[str] = (), resolver: Resolver | None = None) -> None:
        self.networks: list[IPNetwork] = []
        self.hosts: set[str] = set()
        for entry in allow:
            try:
                self.networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                self.hosts.add(_canonical_host(entry))
        self.resolver = resolver

    @classmethod
    def from_settings(
        cls, settings: typing.Any, resolver: Resolver | None = None
    ) -> OutboundPolicy:
        return cls(getattr(settings, "outbound_allow", ()), resolver)

    def address_refusal(self, address: IPAddress) -> str | None:
        if any(address.version == n.version and address in n for n in self.networks):
            return None
        return refusal(address)

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for `host`, every one checked; raises DestinationRefused
        when any of them is refused (a name resolving to one private address among public ones
        is refused as a whole), httpcore.ConnectError when the name does not resolve."""
        name = _canonical_host(host)
        try:
            literal: IPAddress | None = ipaddress.ip_address(name)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            resolver = self.resolver or system_resolve
            try:
                addresses = await resolver(name, port)
            except OSError as error:
                raise httpcore.ConnectError(f"cannot resolve {name}: {error}") from error
            if not addresses:
                raise httpcore.ConnectError(f"cannot resolve {name}")
        if name in self.hosts:
            return addresses
        for address in addresses:
            reason = self.address_refusal(ipaddress.ip_address(address))
            if reason:
                raise DestinationRefused(name, f"{address} is {reason}")
        return addresses

    async def check_url(self, url: str) -> None:
        """For validating a URL when it is registered: DestinationRefused if it points inside.
        A name that does not resolve now passes (it is checked again at every connection)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DestinationRefused(parts.hostname or url, "not an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            await self.resolve(parts.hostname, port)
        except httpcore.ConnectError:
            return


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then connects to a checked address (the host name is kept for TLS)."""

    def __init__(self, policy: OutboundPolicy, inner: httpcore.AsyncNetworkBackend | None = None):
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.policy.resolve(host, port)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused(path, "unix sockets are never an outbound destination")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool that opens connections only through
    `GuardedBackend`; no proxies from the environment (a proxy would connect for us)."""

    def __init__(
        self,
        policy: OutboundPolicy,
        verify: bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
        http2: bool = False,
    ) -> None:
        # Not super().__init__(): it would build a pool on the default backend; the methods of
        # AsyncHTTPTransport only use `_pool`.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
            network_backend=GuardedBackend(policy),
        )


def outbound_client(
    policy: OutboundPolicy, *, limits: httpx.Limits = DEFAULT_LIMITS, **options: typing.Any
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` (`options`: timeout, headers, follow_redirects, max_redirects …)
    whose every connection is checked against `policy`."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, limits=limits), trust_env=False, **options
    )
