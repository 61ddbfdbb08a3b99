"""The address a request comes from, as every per-address limit counts it."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.types import Scope


def client_address(scope: Scope) -> str:
    """The client's address, as every per-address limit counts it (behind a trusted proxy,
    the address it forwarded: see ``ZOO_TRUSTED_PROXIES``). An IPv6 client counts by its
    /64, the block one host or site is given: a client holding one could otherwise take
    a fresh address, and with it a fresh budget, for every request."""
    client = scope.get("client")
    if not client:
        return "unknown"
    host = str(client[0])
    return _counted_as(host) if ":" in host else host


@lru_cache(maxsize=4096)
def _counted_as(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if not isinstance(address, ipaddress.IPv6Address):
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))
