"""Login providers (OpenID Connect) as configured in ``EAM_OIDC_PROVIDERS``: a JSON list.

Example::

    [{"name": "national", "issuer": "https://idp.example.be", "client_id": "eam",
      "client_secret": "…", "audiences": ["urn:eam:api"],
      "claims": {"national_number": "urn:be:fedict:nrn", "given_name": "given_name"}}]
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

ProviderName = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class ClaimNames(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which claim carries what; the national number is required, the others optional."""

    national_number: str = "national_number"
    given_name: str = "given_name"
    family_name: str = "family_name"
    name: str = "name"
    email: str = "email"


class OidcProviderConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: ProviderName
    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    #: Audiences accepted in bearer tokens besides ``client_id`` (e.g. the API's resource id).
    audiences: tuple[str, ...] = ()
    claims: ClaimNames = ClaimNames()
    #: Signing algorithms accepted from this provider; never ``none`` or HMAC.
    algorithms: tuple[str, ...] = ("RS256", "ES256", "PS256", "EdDSA")


ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})


def parse_providers(raw: str) -> tuple[OidcProviderConfig, ...]:
    """Providers from the JSON text of ``EAM_OIDC_PROVIDERS``; ValueError names what is wrong."""
    try:
        providers = msgspec.json.decode(raw.encode(), type=tuple[OidcProviderConfig, ...])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"EAM_OIDC_PROVIDERS is not a valid provider list: {exc}") from None
    names = [provider.name for provider in providers]
    if len(set(names)) != len(names):
        raise ValueError("EAM_OIDC_PROVIDERS: provider names must be unique")
    for provider in providers:
        if not re.match(r"^https?://[^\s?#]+$", provider.issuer):
            raise ValueError(f"EAM_OIDC_PROVIDERS: {provider.name}: issuer must be an http(s) URL without query or fragment")
        unsafe = set(provider.algorithms) - ALLOWED_ALGORITHMS
        if unsafe:
            raise ValueError(f"EAM_OIDC_PROVIDERS: {provider.name}: algorithms not accepted: {', '.join(sorted(unsafe))}")
        if "openid" not in provider.scopes:
            raise ValueError(f"EAM_OIDC_PROVIDERS: {provider.name}: scopes must include openid")
    return providers
