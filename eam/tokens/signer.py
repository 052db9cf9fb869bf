"""One signer for every token EAM issues: the current signing key, a JWS in compact form.

RFC 9068 section 2.1: a JWT access token's header carries ``typ: at+jwt``; RFC 7515 section
4.1.4: ``kid`` names the key, so verifiers pick it from the published JWKS (RFC 7517).
"""

from __future__ import annotations

import math
import uuid
import datetime as dt
from typing import Any

import msgspec
from joserfc import jws
from sqlalchemy.ext.asyncio import AsyncSession

from eam.signing_keys.keyring import KeyRing
from eam.tokens.jose import registry

#: RFC 9068 section 2.1.
ACCESS_TOKEN_TYP = "at+jwt"


def access_token_claims(
    *, issuer: str, subject: str, audience: str, client_id: str, now: dt.datetime, lifetime_seconds: int, not_after: dt.datetime | None = None
) -> dict[str, Any]:
    """The claims every EAM access token carries (RFC 9068 section 2.2): ``iss``, ``sub``,
    ``aud``, ``iat``, ``nbf``, ``exp``, ``jti`` and ``client_id``. ``exp`` is ``lifetime_seconds``
    after ``now``, or ``not_after`` if that comes first (whole seconds, RFC 7519 NumericDate)."""
    issued_at = math.floor(now.timestamp())
    expires_at = issued_at + lifetime_seconds
    if not_after is not None:
        expires_at = min(expires_at, math.floor(not_after.timestamp()))
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": expires_at,
        "jti": str(uuid.uuid4()),
        "client_id": client_id,
    }


async def sign_access_token(session: AsyncSession, keyring: KeyRing, claims: dict[str, Any]) -> str:
    """Sign ``claims`` with the current key (read at most every few seconds, see the keyring)."""
    return await sign_jwt(session, keyring, claims, typ=ACCESS_TOKEN_TYP)


async def sign_jwt(session: AsyncSession, keyring: KeyRing, claims: dict[str, Any], *, typ: str) -> str:
    """Sign ``claims`` as a JWT of media type ``typ`` (``at+jwt``, ``secevent+jwt``) with the
    current key, named by ``kid``."""
    key, private_key = await keyring.signing_key(session)
    header = {"alg": key.alg, "typ": typ, "kid": key.kid}
    return jws.serialize_compact(header, msgspec.json.encode(claims), private_key, registry=registry(key.alg))
