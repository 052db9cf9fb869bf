"""The guard for every outgoing push to a URL someone typed (webhooks, security events): SSRF.

A webhook URL is hostile input: it could make EAM reach its own database, a cloud metadata
service (``169.254.169.254``, ``fd00:ec2::254``) or anything else on the private network. So:

- ``https`` only in production (``http`` too in development, for local receivers);
- no user name or password in the URL, no fragment;
- the host name is resolved and **every** address it resolves to must be public: loopback,
  private (RFC 1918, unique local), link-local (the metadata addresses among them), multicast,
  reserved, unspecified, shared (RFC 6598) and other non-global addresses are refused, an
  IPv4-mapped IPv6 address as the IPv4 address it maps; unless ``EAM_WEBHOOK_ALLOWED_HOSTS``
  names the host, the address or a network holding it (an administrator's decision);
- checked when the subscription is made (422 ``webhook-url-refused``) and again at each delivery,
  after resolution, and the connection goes to the address that was checked (the host name only
  travels as ``Host`` and TLS SNI), so a DNS answer that changes in between (rebinding) reaches
  nothing new;
- redirects are not followed (a 3xx is a failed delivery), timeouts are short
  (``EAM_WEBHOOK_TIMEOUT_SECONDS``) and at most :data:`BODY_PREFIX` characters of an answer are
  read and kept.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2

from eam.core.errors import FieldError, ValidationFailed
from eam.core.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Cloud metadata services, named even though the general rules refuse them too.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
#: How much of a receiver's answer is read and kept (in the outbox's ``last_error``).
BODY_PREFIX = 200


class UrlRefused(ValidationFailed):
    """The URL may not be pushed to: wrong scheme, or a host that is not public (SSRF guard)."""

    code = "webhook-url-refused"
    title = "EAM does not push to this URL"


class DeliveryRefused(Exception):
    """At delivery time the URL no longer passes the guard (its host now resolves elsewhere)."""


@dataclass(frozen=True)
class Target:
    """A URL checked by the guard: where to connect (``address``) and what to name (``host``)."""

    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress

    def connect_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return parts._replace(netloc=f"{literal}:{self.port}").geturl()

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _refused(message: str) -> UrlRefused:
    return UrlRefused(message, [FieldError("$.url", message)])


def check_syntax(url: str, settings: Settings) -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable URL, else :class:`UrlRefused`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refused("the URL is not valid") from None
    allowed = ("https",) if settings.is_production else ("https", "http")
    if parts.scheme not in allowed:
        raise _refused("only https URLs are accepted" if settings.is_production else "only http and https URLs are accepted")
    if not parts.hostname:
        raise _refused("the URL has no host")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise _refused("the URL may have neither a user name, a password nor a fragment")
    return parts.scheme, parts.hostname.lower().rstrip("."), port or (443 if parts.scheme == "https" else 80)


def _public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address not in METADATA_ADDRESSES and address.is_global and not address.is_multicast


def _allow_listed(host: str, address: IPAddress, settings: Settings) -> bool:
    for entry in settings.webhook_allowed_hosts:
        if entry == host:
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue  # a host name, compared above
    return False


async def _addresses(host: str, port: int, timeout: float) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    except (OSError, ValueError, TimeoutError):  # unknown name, a name no resolver takes (UnicodeError), too slow
        raise _refused(f"the host {host} cannot be resolved") from None
    # Scope ids (``fe80::1%eth0``) are dropped: such an address is link-local and refused anyway.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def resolve(url: str, settings: Settings) -> Target:
    """The URL's checked target: every address of its host must be public or allow-listed."""
    scheme, host, port = check_syntax(url, settings)
    addresses = await _addresses(host, port, settings.webhook_timeout_seconds)
    if not addresses:
        raise _refused(f"the host {host} has no address")
    for address in addresses:
        if not _public(address) and not _allow_listed(host, address, settings):
            raise _refused(
                f"the host {host} resolves to {address}, which is not a public address"
                " (loopback, private, link-local, metadata…); EAM_WEBHOOK_ALLOWED_HOSTS can allow it"
            )
    return Target(url=url, scheme=scheme, host=host, port=port, address=addresses[0])


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every delivery: building one (loading the CA bundle) takes ~40 ms."""
    return httpx2.create_ssl_context()


async def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST to the checked address (no redirect followed, no proxy from the environment); the
    status and at most :data:`BODY_PREFIX` characters of the answer."""
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    async with httpx2.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls()) as client:
        async with client.stream(
            "POST", target.connect_url(), content=body, headers={**headers, "Host": target.host_header}, extensions=extensions
        ) as response:
            prefix = b""
            async for chunk in response.aiter_raw():
                prefix += chunk
                if len(prefix) >= BODY_PREFIX:
                    break
    return response.status_code, prefix[:BODY_PREFIX].decode("utf-8", "replace")
