"""The one rule for who a request comes from: the socket peer, or what trusted proxies say.

`X-Forwarded-For` is a list every proxy appends to, so only its right end is written by proxies
we know; anything to the left of the first untrusted hop was written by the client and is
ignored. The walk: start at the socket peer; while the current address is a trusted proxy (one
of `KITCHEN_TRUSTED_PROXIES`, CIDRs or single addresses, default none), step one hop to the left.
The first untrusted address is the client. A malformed hop stops the walk at the last address
known good (the trusted proxy that wrote it); a chain made only of trusted proxies gives its
leftmost one.

Behind the gateway the services do not walk the header themselves: the gateway sends the address
it determined in the signed internal headers (`common.identity.CLIENT_ADDRESS_HEADER`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

FORWARDED_FOR = "x-forwarded-for"
UNKNOWN = "unknown"

Network = IPv4Network | IPv6Network


@lru_cache(maxsize=64)
def parse_networks(trusted_proxies: tuple[str, ...]) -> tuple[Network, ...]:
    """`KITCHEN_TRUSTED_PROXIES` entries as networks; a bad entry is a configuration error."""
    return tuple(ip_network(entry.strip(), strict=False) for entry in trusted_proxies)


# The longest form an address may take here: a bracketed IPv6 address with a zone and a port.
MAX_ADDRESS_TEXT = 80


def _normalised(value: str) -> str | None:
    """The address in canonical form, None when it is not an IP address.

    Accepts what proxies write: `[v6]`, `[v6]:port` and `v4:port` forms.
    """
    value = value.strip()
    if len(value) > MAX_ADDRESS_TEXT:  # not an address, and not worth a place in the cache
        return None
    return _canonical(value)


@lru_cache(maxsize=4096)  # per request on the hot path; the same few addresses come back
def _canonical(value: str) -> str | None:
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return str(ip_address(value))
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    parsed = ip_address(address)
    return any(parsed in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted_proxies: Iterable[str]
) -> str:
    """The client's address from the socket peer and the `X-Forwarded-For` header values."""
    networks = parse_networks(tuple(trusted_proxies))
    current = _normalised(peer or "")
    if current is None:
        return peer or UNKNOWN
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    while hops and _is_trusted(current, networks):
        hop = _normalised(hops.pop())
        if hop is None:
            break
        current = hop
    return current


def client_ip(scope_or_request: Any, trusted_proxies: Iterable[str]) -> str:
    """`client_address` of an ASGI scope or a Starlette request."""
    scope: Mapping[str, Any] = getattr(scope_or_request, "scope", scope_or_request)
    client = scope.get("client")
    peer = client[0] if client else None
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", [])
        if name.lower() == FORWARDED_FOR.encode()
    ]
    return client_address(peer, forwarded, trusted_proxies)


SCOPE_KEY = "kitchen.client_ip"  # in the scope: request.state may outlive a request


def peer_address(request: Any) -> str:
    """The caller's address as this process sees it: the socket peer, walked back through
    `settings.trusted_proxies` of the request's app; computed once per request."""
    known: str | None = request.scope.get(SCOPE_KEY)
    if known is None:
        known = client_ip(request, request.app.state.settings.trusted_proxies)
        request.scope[SCOPE_KEY] = known
    return known
