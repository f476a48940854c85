"""Which IP addresses a webhook may be sent to (SPEC §10): global unicast only. One rule for the
check at subscription time (services/subscription_targets.py) and at every send
(data/webhook_client.py), where the name is resolved again."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to, as text (socket.getaddrinfo's order).
Resolver = Callable[[str, int], Iterable[str]]


def is_public(address: Address) -> bool:
    """Global unicast: what a webhook may be sent to."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:  # fec0::/10, deprecated, still routed on some networks
            return False
        # An IPv4 address carried inside (mapped, or 6to4's 2002::/16) is judged as itself.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            address = embedded
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )
