"""The client address and scheme: from the TCP peer, or from a configured proxy's headers.

A proxy header is a claim by whoever sent it. ``X-Forwarded-For`` and ``X-Forwarded-Proto``
are believed only when the TCP peer is listed in ``EAM_TRUSTED_PROXIES`` (IP addresses or CIDR
networks); by default no peer is, so every request is counted and rate limited under
the address that actually connected. The client is then the right-most address in
``X-Forwarded-For`` that is not itself a trusted proxy (each proxy appends the address it saw;
only what trusted proxies appended can be believed). RFC 7239 ``Forwarded`` is never read.

The server must not interpret these headers itself: ``eam serve`` starts uvicorn with
``proxy_headers=False``, and the rewrite is uvicorn's own ``ProxyHeadersMiddleware``, applied
here with EAM's list instead of uvicorn's default (which trusts 127.0.0.1).
"""

from __future__ import annotations

import ipaddress

from litestar.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from eam.core.settings import Settings


def trusted_networks(settings: Settings) -> list[str]:
    """``EAM_TRUSTED_PROXIES`` as networks (``127.0.0.1`` -> ``127.0.0.1/32``), for exact matching."""
    return [str(ipaddress.ip_network(entry, strict=False)) for entry in settings.trusted_proxies]


def client_address_middleware(app: ASGIApp, settings: Settings) -> ASGIApp:
    """``app`` as is when no proxy is trusted; else behind the proxy-header rewrite."""
    networks = trusted_networks(settings)
    if not networks:
        return app
    return ProxyHeadersMiddleware(app, trusted_hosts=networks)  # type: ignore[arg-type,return-value]
