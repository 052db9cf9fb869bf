"""Service tokens: OAuth 2.0 client credentials (RFC 6749 section 4.4) for EAM's own API.

Business rules:
- only an authenticated, active service client gets one, for scopes it holds (all of them when
  it names none, section 3.3); no refresh token (section 4.4.3).
- it is an RFC 9068 JWT access token for the audience ``urn:eam:api`` only, so it can never pass
  as a grant token at a downstream application, nor a grant token as a service token here.
- on every call the client is read again: a disabled client, or a token issued before the
  client's secret was replaced, is refused at once; scopes removed since issuance stop working
  at once because Casbin checks the scopes the client still holds.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from eam.auth.identity import Identity
from eam.core.errors import OAuthInvalidScope, Unauthenticated
from eam.grant_tokens.introspection import verified_claims
from eam.tokens.signer import access_token_claims, sign_access_token
from eam.service_clients.models import ServiceClient
from eam.core.enums import ClientStatus
from eam.service_clients.scopes import held_scopes
from eam.core.settings import Settings
from eam.signing_keys.keyring import KeyRing
from eam.users.models import User
from eam.users.service import user_for_identity

GRANT_TYPE = "client_credentials"
#: The audience of service tokens: EAM's own API (never an application code, see the catalogue rules).
SERVICE_AUDIENCE = "urn:eam:api"
#: Service clients act through a user row of their own, so every "by whom" column can name them.
SERVICE_CLIENT_ISSUER = "urn:eam:service-client"
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"]
#: RFC 6749 section 3.3: scope = scope-token *( SP scope-token ), scope-token = 1*NQCHAR.
SCOPE_PARAMETER = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$")


class ServiceTokenOut(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 6749 section 5.1."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str


@dataclass(frozen=True)
class ServiceCaller:
    client: ServiceClient
    #: The scopes the token was issued with; Casbin also requires that the client still holds them.
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return f"{self.client.name} <client:{self.client.client_id}>"


def granted_scopes(requested: str | None, held: list[str]) -> list[str]:
    """The scopes to issue: all held ones by default, else exactly the requested ones if all are held."""
    if requested is None:
        if not held:
            raise OAuthInvalidScope("this client holds no scope; a platform admin grants them")
        return sorted(held)
    if not SCOPE_PARAMETER.match(requested):
        raise OAuthInvalidScope("scope must be scope names separated by single spaces (RFC 6749 section 3.3)")
    wanted = sorted(set(requested.split(" ")))
    missing = [scope for scope in wanted if scope not in held]
    if missing:
        raise OAuthInvalidScope(f"not granted to this client: {', '.join(missing)}; it holds: {', '.join(held) or 'none'}")
    return wanted


async def issue_service_token(
    session: AsyncSession,
    keyring: KeyRing,
    settings: Settings,
    client: ServiceClient,
    requested: str | None,
    now: dt.datetime,
) -> ServiceTokenOut:
    held = (await held_scopes(session, [client.client_id]))[client.client_id]
    scopes = granted_scopes(requested, held)
    claims = access_token_claims(
        issuer=settings.issuer_url,
        # RFC 9068 section 2.2: with no resource owner, the subject is the client itself.
        subject=client.client_id,
        audience=SERVICE_AUDIENCE,
        client_id=client.client_id,
        now=now,
        lifetime_seconds=settings.service_token_ttl_seconds,
    )
    claims["scope"] = " ".join(scopes)
    token = await sign_access_token(session, keyring, claims)
    return ServiceTokenOut(access_token=token, expires_in=claims["exp"] - claims["iat"], scope=claims["scope"])


def looks_like_service_token(unverified: dict[str, object], own_issuer: str) -> bool:
    """Routing only (which checks to run), never a decision: the token is verified afterwards."""
    return unverified.get("iss") == own_issuer and unverified.get("aud") == SERVICE_AUDIENCE


async def service_caller(
    session: AsyncSession, keyring: KeyRing, settings: Settings, token: str, now: dt.datetime
) -> ServiceCaller:
    """The client behind a service token; ``Unauthenticated`` when it must not be accepted."""
    claims = await verified_claims(session, keyring, settings, token, now, required=REQUIRED_CLAIMS)
    if claims is None or claims["aud"] != SERVICE_AUDIENCE or "authorization_details" in claims:
        raise Unauthenticated("the service token is not valid or has expired; get a new one at /oauth2/token")
    if not isinstance(claims["scope"], str) or not isinstance(claims["client_id"], str) or not isinstance(claims["iat"], int):
        raise Unauthenticated("the service token is not valid")
    client = await session.get(ServiceClient, claims["client_id"])
    if client is None or client.status != ClientStatus.ACTIVE:
        raise Unauthenticated("the service client behind this token is disabled")
    if claims["iat"] < math.floor(client.secret_created_at.timestamp()):
        raise Unauthenticated("the service token was issued before the client's secret was replaced")
    return ServiceCaller(client=client, scopes=frozenset(claims["scope"].split()))


async def service_account(session: AsyncSession, client: ServiceClient, key: str, now: dt.datetime) -> User:
    """The user row a client acts through (created on first use), named after the client."""
    identity = Identity(issuer=SERVICE_CLIENT_ISSUER, subject=client.client_id, display_name=client.name)
    return await user_for_identity(session, identity, key, now)
