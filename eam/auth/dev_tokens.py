"""Development tokens: HS256 JWTs signed with ``EAM_DEV_TOKEN_SECRET``, for the quickstart.

Production (``EAM_ENV=production``) installs no dev-token source and refuses to start while a
dev secret is configured. Dev tokens carry ``typ: eam-dev+jwt`` so they can never be mistaken
for another kind of token (RFC 8725 section 3.11).
"""

from __future__ import annotations

import datetime as dt
import uuid

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import OctKey

from eam.auth.identity import Identity
from eam.core.errors import Unauthenticated
from eam.core.settings import DEV_TOKEN_ISSUER

DEV_ISSUER = DEV_TOKEN_ISSUER
DEV_AUDIENCE = "urn:eam:api"
DEV_TOKEN_TYPE = "eam-dev+jwt"


def issue_dev_token(
    secret: str,
    username: str,
    *,
    ttl_seconds: int,
    now: dt.datetime,
    name: str | None = None,
    email: str | None = None,
    national_number: str | None = None,
) -> str:
    claims: dict[str, object] = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": username,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    if name:
        claims["name"] = name
    if email:
        claims["email"] = email
    if national_number:
        claims["national_number"] = national_number
    return jwt.encode({"alg": "HS256", "typ": DEV_TOKEN_TYPE}, claims, OctKey.import_key(secret), algorithms=["HS256"])


#: What a dev token must carry (RFC 7519 section 4.1), checked after its signature.
_REQUIRED = jwt.JWTClaimsRegistry(
    iss={"essential": True, "value": DEV_ISSUER},
    aud={"essential": True, "value": DEV_AUDIENCE},
    sub={"essential": True},
    exp={"essential": True},
    iat={"essential": True},
)


class DevTokenSource:
    def __init__(self, secret: str) -> None:
        self._key = OctKey.import_key(secret)

    def accepts(self, unverified_issuer: str | None) -> bool:
        return unverified_issuer == DEV_ISSUER

    async def authenticate(self, token: str) -> Identity:
        try:
            decoded = jwt.decode(token, self._key, algorithms=["HS256"])
            if decoded.header.get("typ") != DEV_TOKEN_TYPE:
                raise Unauthenticated("not a development token")
            _REQUIRED.validate(decoded.claims)
        except ExpiredTokenError:
            raise Unauthenticated("the token has expired") from None
        except (JoseError, ValueError, TypeError) as exc:
            raise Unauthenticated(f"invalid development token: {exc}") from None
        claims = decoded.claims
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or len(subject) > 255:
            raise Unauthenticated("invalid development token: bad subject")
        if any(isinstance(claims.get(name), str) and "\x00" in claims[name] for name in ("sub", "name", "email")):
            raise Unauthenticated("invalid development token: a claim contains a NUL character")
        return Identity(
            issuer=DEV_ISSUER,
            subject=subject,
            display_name=str(claims["name"])[:200] if claims.get("name") else None,
            email=claims.get("email"),
            national_number=claims.get("national_number"),
        )
