"""Lists of networks from settings (CIDRs), parsed once: who may be called, who may scrape."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    """The networks of a setting's CIDR list (ValueError names an entry that does not parse).

    Cached by the list itself, so a setting changed (in tests) is parsed anew.
    """
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())
