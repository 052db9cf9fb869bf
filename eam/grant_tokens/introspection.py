"""What EAM says about a grant token it issued: introspection (RFC 7662) and revocation (RFC 7009).

A token is active only while everything it states is still true: it is unexpired, signed by a
key still published, not revoked, and each assignment it lists is still active, unchanged
(same organisation, register, profile and end date) and in an organisation that is not
disabled. Nothing is written when an assignment changes: the comparison is made on every
introspection, so a revocation is visible to the very next request after it commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import json

import msgspec
from joserfc import jws
from joserfc.errors import JoseError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from eam.assignments.models import Assignment, is_active
from eam.core.database import upsert_ignore
from eam.core.errors import OAuthUnauthorizedClient
from eam.grant_tokens.issuance import register_access
from eam.tokens.jose import registry
from eam.tokens.signer import ACCESS_TOKEN_TYP
from eam.grant_tokens.models import RevokedGrantToken
from eam.grant_tokens.schemas import IntrospectionOut, RegisterAccess
from eam.core.enums import OrganisationStatus
from eam.organisations.models import Organisation
from eam.core.settings import Settings
from eam.signing_keys.keyring import KeyRing
from eam.signing_keys.models import SigningKey

INACTIVE = IntrospectionOut(active=False)
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "authorization_details"]
#: Claims that must be strings when present (RFC 7519 section 4.1; PyJWT, used before, checked these too).
STRING_CLAIMS = ("iss", "sub", "jti")


async def verified_claims(
    session: AsyncSession,
    keyring: KeyRing,
    settings: Settings,
    token: str,
    now: dt.datetime,
    *,
    required: list[str] = REQUIRED_CLAIMS,
) -> dict[str, Any] | None:
    """The claims of an unexpired token (grant or service) signed by a published EAM key, else None.

    joserfc parses the token strictly (canonical base64url, JSON object header within its size
    limits) and checks the signature under the key's one algorithm; the claims EAM requires,
    ``iss`` and the types of the string claims are checked here, times against the service clock
    below, audiences by the caller."""
    try:
        parsed = jws.extract_compact(token.encode("utf-8"))
        header = parsed.headers()
    except (JoseError, ValueError, TypeError, RecursionError):
        return None
    kid = header.get("kid")
    if header.get("typ") != ACCESS_TOKEN_TYP or not isinstance(kid, str) or len(kid) > 64 or "crit" in header:
        return None
    key = await session.get(SigningKey, kid)
    if key is None or not key.is_published(now) or header.get("alg") != key.alg:
        return None
    try:
        if not jws.validate_compact(parsed, keyring.public_key(key), registry=registry(key.alg)):
            return None
        claims = json.loads(parsed.payload)
    except (JoseError, ValueError, TypeError, RecursionError):
        return None
    if not isinstance(claims, dict) or any(claims.get(name) is None for name in required):
        return None
    if any(name in claims and not isinstance(claims[name], str) for name in STRING_CLAIMS) or claims["iss"] != settings.issuer_url:
        return None
    timestamp = now.timestamp()
    if not isinstance(claims["exp"], int) or claims["exp"] <= timestamp:
        return None
    if isinstance(claims.get("nbf"), int) and claims["nbf"] > timestamp + settings.token_leeway_seconds:
        return None
    return claims


async def introspect(
    session: AsyncSession,
    keyring: KeyRing,
    settings: Settings,
    token: str,
    now: dt.datetime,
    *,
    audiences: list[str],
) -> IntrospectionOut:
    """RFC 7662 section 2.2. A client learns nothing about tokens for other audiences (section 4)."""
    claims = await verified_claims(session, keyring, settings, token, now)
    if claims is None or claims["aud"] not in audiences:
        return INACTIVE
    if await session.get(RevokedGrantToken, str(claims["jti"])[:64]) is not None:
        return INACTIVE
    try:
        stated = msgspec.convert(claims["authorization_details"], list[RegisterAccess])
        user_id = uuid.UUID(claims["sub"])
        ids = [uuid.UUID(detail.assignment_id) for detail in stated]
    except (msgspec.ValidationError, ValueError, TypeError):
        return INACTIVE
    rows = await session.execute(
        select(Assignment, Organisation)
        .join(Organisation, Organisation.id == Assignment.organisation_id)
        .where(
            Assignment.id.in_(ids),
            Assignment.user_id == user_id,
            Assignment.application == claims["aud"],
            is_active(now),
            Organisation.status == OrganisationStatus.ACTIVE,
        )
    )
    current = {str(assignment.id): register_access(assignment, org) for assignment, org in rows.all()}
    if not stated or any(current.get(detail.assignment_id) != detail for detail in stated):
        return INACTIVE
    return IntrospectionOut(
        active=True,
        token_type="Bearer",
        client_id=claims.get("client_id"),
        sub=claims["sub"],
        aud=claims["aud"],
        iss=claims["iss"],
        exp=claims["exp"],
        iat=claims["iat"],
        nbf=claims.get("nbf"),
        jti=claims["jti"],
        authorization_details=stated,
    )


async def revoke(
    session: AsyncSession,
    keyring: KeyRing,
    settings: Settings,
    token: str,
    now: dt.datetime,
    *,
    revoked_by: str,
    may_revoke: Callable[[dict[str, Any]], bool],
) -> dict[str, Any] | None:
    """Record the revocation of a live grant token; returns its claims, or None when there was
    nothing to revoke (invalid, expired or revoked already: RFC 7009 section 2.2 answers 200
    all the same).

    Only the token's holder, or a client serving its audience, may revoke it (section 2.1).
    """
    claims = await verified_claims(session, keyring, settings, token, now)
    if claims is None:
        return None
    if not may_revoke(claims):
        raise OAuthUnauthorizedClient("this token was not issued to you or for an application you serve")
    result = await session.execute(
        upsert_ignore(session, RevokedGrantToken.__table__)
        .values(
            jti=str(claims["jti"])[:64],
            expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
            revoked_at=now,
            revoked_by=revoked_by,
        )
        .on_conflict_do_nothing(index_elements=["jti"])
    )
    return claims if result.rowcount == 1 else None


async def forget_expired_revocations(session: AsyncSession, now: dt.datetime) -> int:
    """A revoked token past its expiry is refused anyway; its revocation row can go."""
    result = await session.execute(delete(RevokedGrantToken).where(RevokedGrantToken.expires_at <= now))
    return result.rowcount or 0
