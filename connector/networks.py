"""IP networks and the client address behind trusted proxies.

A proxy in front of the connector (a load balancer, nginx) makes every request come from the proxy's address;
the proxy says whom it spoke to in ``X-Forwarded-For``, appending that peer's address to what the request
already carried. Only the proxies named in ``CONNECTOR_TRUSTED_PROXIES`` are believed: the client is the
right-most hop that is not a trusted proxy, so whatever a client writes into the header itself (to the left)
is never taken for its address. Used by the push endpoints (``allowed_push_networks``) and sign-in throttling.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str | None) -> IPAddress | None:
    """An address as text (IPv4-mapped IPv6 read as IPv4, a zone index dropped); None when it is not one."""
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:443 (some proxies add the port)
        text = text.split(":", 1)[0]
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def network_problem(text: str) -> str | None:
    """Why ``text`` is not a network in CIDR notation (``10.0.0.0/8``, ``2001:db8::/32``, a single address),
    or None when it is one."""
    try:
        ipaddress.ip_network(str(text).strip(), strict=True)
    except ValueError as exc:
        return f"{text!r} is not a network in CIDR notation, e.g. 203.0.113.0/24 ({exc})."
    return None


def parse_networks(value: str | Iterable[str] | None, name: str = "networks") -> tuple[IPNetwork, ...]:
    """Networks from a comma-separated string or a list; ``ValueError`` naming ``name`` for a bad one."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    networks: list[IPNetwork] = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        problem = network_problem(item)
        if problem:
            raise ValueError(f"{name}: {problem}")
        networks.append(ipaddress.ip_network(item, strict=True))
    return tuple(networks)


def within(address: IPAddress | None, networks: Sequence[IPNetwork]) -> bool:
    """Whether ``address`` lies in one of ``networks`` (an unknown address lies in none)."""
    return address is not None and any(address.version == net.version and address in net for net in networks)


def client_address(remote_addr: str | None, forwarded_for: Iterable[str],
                   trusted_proxies: Sequence[IPNetwork]) -> IPAddress | None:
    """The address of the client: ``remote_addr`` unless it is a trusted proxy, else the right-most
    ``X-Forwarded-For`` hop that is not one. None when that hop is unreadable (nothing to trust it by).

    ``forwarded_for`` holds every ``X-Forwarded-For`` header's value in order (they read as one list). When every
    hop is a trusted proxy, the left-most one is the client (a request from inside).
    """
    peer = parse_address(remote_addr)
    if not trusted_proxies or not within(peer, trusted_proxies):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = parse_address(hop)
        if not within(address, trusted_proxies):
            return address
        peer = address
    return peer
