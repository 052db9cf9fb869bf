"""Proxy headers are believed only from configured proxies (``EAM_TRUSTED_PROXIES``, default none).

Review finding: ``X-Forwarded-For`` sent from a loopback peer was believed (uvicorn trusts
127.0.0.1 by default), so a local caller could pick a new address per request and never hit a
rate limit. These tests run a real ``eam serve`` and count under the real peer address unless
the peer is a configured proxy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eam.core.settings import Settings, SettingsError
from eam.http.proxies import client_address_middleware
from tests.test_operations import EamServe


def token_request(server: EamServe, **headers: str) -> int:
    """Any answer counts against the limit, so an invalid grant request is enough."""
    return server.call("POST", "/oauth2/token", data={"grant_type": "nonsense"}, headers=headers).status_code


def test_by_default_forwarded_for_from_loopback_is_ignored_and_the_peer_is_limited(tmp_path: Path) -> None:
    # uvicorn's own switch must not bring proxy headers back either.
    server = EamServe(tmp_path, EAM_RATE_LIMIT_TOKENS_PER_MINUTE="3", FORWARDED_ALLOW_IPS="*")
    try:
        answers = [
            token_request(server, **{"X-Forwarded-For": f"203.0.113.{n}", "X-Forwarded-Proto": "https", "Forwarded": f"for=198.51.100.{n}"})
            for n in range(1, 6)
        ]
    finally:
        server.stop()
    assert answers[:3] == [400, 400, 400] and answers[3:] == [429, 429], answers


def test_a_trusted_proxy_s_forwarded_for_is_the_client_each_counted_on_its_own(tmp_path: Path) -> None:
    server = EamServe(tmp_path, EAM_RATE_LIMIT_TOKENS_PER_MINUTE="3", EAM_TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1")
    try:
        distinct = [token_request(server, **{"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(1, 6)]
        same = [token_request(server, **{"X-Forwarded-For": "198.51.100.7"}) for _ in range(4)]
        # The client is the right-most address no trusted proxy appended: a client cannot pick
        # its own address by prepending one, it is counted as 198.51.100.7 (the last untrusted).
        spoofed = token_request(server, **{"X-Forwarded-For": "192.0.2.1, 198.51.100.7, 10.1.2.3"})
        peer = [token_request(server) for _ in range(4)]  # no header: the proxy (loopback) itself
    finally:
        server.stop()
    assert distinct == [400] * 5, distinct
    assert same == [400, 400, 400, 429], same
    assert spoofed == 429
    assert peer == [400, 400, 400, 429], peer


async def test_scheme_and_client_come_from_the_headers_only_for_a_trusted_peer() -> None:
    seen: list[tuple[Any, Any]] = []

    async def probe(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope["client"], scope["scheme"]))

    headers = [(b"x-forwarded-for", b"203.0.113.9"), (b"x-forwarded-proto", b"https"), (b"forwarded", b"for=198.51.100.1;proto=https")]

    async def call(app: Any, peer: str) -> tuple[Any, Any]:
        await app({"type": "http", "client": (peer, 5000), "scheme": "http", "headers": headers}, None, None)
        return seen.pop()

    untrusting = client_address_middleware(probe, Settings())
    assert await call(untrusting, "127.0.0.1") == ((("127.0.0.1", 5000)), "http")
    trusting = client_address_middleware(probe, Settings(trusted_proxies=("10.0.0.0/8", "::1")))
    assert await call(trusting, "10.4.5.6") == (("203.0.113.9", 0), "https")
    assert await call(trusting, "::1") == (("203.0.113.9", 0), "https")
    assert await call(trusting, "127.0.0.1") == (("127.0.0.1", 5000), "http")  # not listed
    assert await call(trusting, "11.0.0.1") == (("11.0.0.1", 5000), "http")


def test_trusted_proxies_are_read_as_addresses_and_networks() -> None:
    assert Settings.from_env({}).trusted_proxies == ()
    assert Settings.from_env({"EAM_TRUSTED_PROXIES": " 10.0.0.0/8, ::1 ,192.168.1.7"}).trusted_proxies == ("10.0.0.0/8", "::1", "192.168.1.7")


@pytest.mark.parametrize("value", ["*", "proxy.internal", "10.0.0.0/33", "127.0.0.1;10.0.0.1"])
def test_anything_but_addresses_and_networks_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="EAM_TRUSTED_PROXIES"):
        Settings.from_env({"EAM_TRUSTED_PROXIES": value})
