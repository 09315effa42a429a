"""One client address: the socket peer, or the first untrusted hop from the right."""

from __future__ import annotations

import pytest

from common.client_address import _canonical, client_address, client_ip
from common.settings import ServiceSettings

PROXIES = ["10.0.0.0/8", "192.0.2.1"]


def test_a_forged_leftmost_hop_from_an_untrusted_peer_is_ignored() -> None:
    assert client_address("203.0.113.5", ["1.2.3.4"], PROXIES) == "203.0.113.5"
    assert client_address("203.0.113.5", ["1.2.3.4"], []) == "203.0.113.5"


def test_behind_a_trusted_proxy_the_hop_it_added_is_the_client() -> None:
    # The client prepended a forged hop; the proxy appended the address it really saw.
    assert client_address("10.1.1.1", ["6.6.6.6, 203.0.113.5"], PROXIES) == "203.0.113.5"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    forwarded = ["6.6.6.6, 203.0.113.5, 192.0.2.1", "10.2.2.2"]  # two header lines, in order
    assert client_address("10.1.1.1", forwarded, PROXIES) == "203.0.113.5"
    # Only proxies: the leftmost one is as far as we can know.
    assert client_address("10.1.1.1", ["10.3.3.3, 10.2.2.2"], PROXIES) == "10.3.3.3"
    assert client_address("10.1.1.1", [], PROXIES) == "10.1.1.1"


def test_a_malformed_hop_stops_the_walk_at_the_last_trusted_address() -> None:
    assert client_address("10.1.1.1", ["203.0.113.5, junk, 10.2.2.2"], PROXIES) == "10.2.2.2"
    assert client_address("10.1.1.1", ["unknown"], PROXIES) == "10.1.1.1"


def test_a_hop_longer_than_any_address_is_malformed_and_not_kept() -> None:
    """Addresses are parsed once per distinct text and remembered; a client's long junk is
    refused before it takes room in that memory."""
    longest = "[fe80:0000:0000:0000:0000:0000:0000:0001%eth0]:65535"
    assert client_address("10.1.1.1", [longest], PROXIES) == "fe80::1%eth0"
    assert client_address("10.1.1.1", [" " * 200 + "203.0.113.5"], PROXIES) == "203.0.113.5"
    _canonical.cache_clear()
    junk = "203.0.113.5" + "x" * 100
    assert client_address("10.1.1.1", [f"{junk}, 10.2.2.2"], PROXIES) == "10.2.2.2"
    assert _canonical.cache_info().currsize == 2  # the peer and 10.2.2.2, not the junk


def test_ports_brackets_and_ipv6_are_understood() -> None:
    assert client_address("10.1.1.1", ["203.0.113.5:4711"], PROXIES) == "203.0.113.5"
    assert client_address("10.1.1.1", ["[2001:db8::1]:443"], PROXIES) == "2001:db8::1"
    assert client_address("::1", ["2001:DB8::2"], ["::1/128"]) == "2001:db8::2"


def test_from_an_asgi_scope() -> None:
    scope = {
        "type": "http",
        "client": ("10.1.1.1", 5000),
        "headers": [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.5")],
    }
    assert client_ip(scope, PROXIES) == "203.0.113.5"
    assert client_ip({**scope, "client": None}, PROXIES) == "unknown"


def test_the_setting_takes_a_comma_list_or_json_and_refuses_nonsense(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KITCHEN_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    assert ServiceSettings().trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    monkeypatch.setenv("KITCHEN_TRUSTED_PROXIES", '["::1"]')
    assert ServiceSettings().trusted_proxies == ["::1"]
    monkeypatch.setenv("KITCHEN_TRUSTED_PROXIES", "not-a-network")
    with pytest.raises(ValueError):
        ServiceSettings()
