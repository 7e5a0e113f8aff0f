"""The address a request came from, for the log-in limits: the TCP peer, unless the peer is one of the configured
proxies (`web.trusted_proxies`), in which case the X-Forwarded-For entry that the outermost trusted proxy saw.

The header is read from the right: each trusted proxy appends the address it received the request from, so the
rightmost entry that is not itself a trusted proxy is the first address no trusted machine can vouch beyond.
Anything to its left was written by the client and may be invented. With no trusted proxies (the default) the
header is ignored entirely, so a client cannot pick its own address by sending one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(request: Request, trusted: Sequence[Network]) -> str:
    peer = request.client.host if request.client else "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
