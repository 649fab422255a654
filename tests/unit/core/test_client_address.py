"""The client address behind trusted proxies: the right-most ``X-Forwarded-For`` hop that is not one."""

from __future__ import annotations

import ipaddress

import pytest

from connector.config import Settings, resolve
from connector.networks import client_address, network_problem, parse_address, parse_networks, within

PROXIES = parse_networks("10.0.0.0/8, 192.168.0.0/16, fd00::/8")


@pytest.mark.parametrize(("remote", "forwarded", "expected"), [
    ("203.0.113.9", [], "203.0.113.9"),  # no proxy
    ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # an untrusted peer's header is ignored
    ("10.0.0.5", ["203.0.113.9"], "203.0.113.9"),
    ("10.0.0.5", ["203.0.113.9, 192.168.1.1"], "203.0.113.9"),  # two proxies
    ("10.0.0.5", ["203.0.113.9", "192.168.1.1"], "203.0.113.9"),  # the header given twice reads as one list
    ("10.0.0.5", ["203.0.113.9, 198.51.100.7"], "198.51.100.7"),  # what the client wrote itself is left of it
    ("10.0.0.5", ["192.168.1.1, 10.0.0.9"], "192.168.1.1"),  # all proxies: the left-most, from inside
    ("10.0.0.5", [], "10.0.0.5"),  # a proxy that says nothing is the client
    ("10.0.0.5", ["garbage"], None),  # unreadable: unknown, never the proxy's own (allowed) address
    ("10.0.0.5", ["203.0.113.9:4431"], "203.0.113.9"),  # a port some proxies add
    ("fd00::1", ["[2001:db8::7]:443"], "2001:db8::7"),
    ("::ffff:10.0.0.5", ["::ffff:203.0.113.9"], "203.0.113.9"),  # IPv4-mapped IPv6 read as IPv4
    (None, [], None),
])
def test_client_address(remote, forwarded, expected):
    address = client_address(remote, forwarded, PROXIES)
    assert (str(address) if address is not None else None) == expected


def test_without_trusted_proxies_the_header_is_never_read():
    assert str(client_address("10.0.0.5", ["203.0.113.9"], ())) == "10.0.0.5"


def test_networks_are_cidrs_or_single_addresses():
    assert network_problem("203.0.113.0/24") is None and network_problem("2001:db8::1") is None
    assert "host bits set" in (network_problem("203.0.113.9/24") or "")
    assert network_problem("salesforce.com") is not None
    with pytest.raises(ValueError, match="CONNECTOR_TRUSTED_PROXIES"):
        parse_networks("10.0.0.0/8, nope", "CONNECTOR_TRUSTED_PROXIES")
    assert within(parse_address("203.0.113.200"), parse_networks(["203.0.113.0/24"]))
    assert not within(parse_address("2001:db8::1"), parse_networks(["203.0.113.0/24"]))
    assert not within(None, parse_networks(["0.0.0.0/0"]))


def test_settings_read_the_trusted_proxies_and_the_push_rate():
    built = Settings.from_config(resolve({"CONNECTOR_TRUSTED_PROXIES": "10.0.0.0/8,  fd00::/8",
                                          "CONNECTOR_PUSH_RATE_LIMIT": "120"}, environ={}))
    assert built.trusted_proxies == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))
    assert built.push_rate_limit == 120
    defaults = Settings.from_config(resolve(environ={}))
    assert defaults.trusted_proxies == () and defaults.push_rate_limit == 600
    assert defaults.push_refetch_seconds == defaults.sync_interval_seconds == 300  # by default the sync interval
    refetch = Settings.from_config(resolve({"CONNECTOR_PUSH_REFETCH_SECONDS": "15"}, environ={}))
    assert refetch.push_refetch_seconds == 15
    with pytest.raises(ValueError, match="CONNECTOR_TRUSTED_PROXIES"):
        Settings.from_config(resolve({"CONNECTOR_TRUSTED_PROXIES": "10.0.0.0/33"}, environ={}))
