from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from eam.signing_keys import service
from eam.signing_keys.keyring import published_jwk, published_keys
from eam.signing_keys.models import SigningKey
from eam.signing_keys.schemas import JWKSet, SigningKeyOut
from eam.core.context import Context
from eam.http.context import provide_session
from eam.core.paging import Page
from eam.http.paging import Cursor, Limit

#: Verifiers refetch on an unknown ``kid``, so a new key is picked up at once; the cache
#: lifetime only delays forgetting a retired key, whose tokens have all expired by then.
JWKS_CACHE_CONTROL = "public, max-age=300"


def key_out(key: SigningKey, now: object) -> SigningKeyOut:
    return SigningKeyOut(
        kid=key.kid,
        alg=key.alg,
        status=key.status,  # type: ignore[arg-type]
        published=key.is_published(now),  # type: ignore[arg-type]
        created_at=key.created_at,
        superseded_at=key.superseded_at,
        retire_after=key.retire_after,
        retired_at=key.retired_at,
    )


class JWKSController(Controller):
    path = "/.well-known"
    tags = ["OAuth 2.0"]
    dependencies = {"db": Provide(provide_session)}
    security = [{}]

    @get("/jwks.json", operation_id="getJwks", summary="Public keys that verify grant tokens (RFC 7517)", media_type="application/json")
    async def jwks(self, state: State, db: AsyncSession) -> Response[JWKSet]:
        keys = await published_keys(db, state.clock())
        return Response(JWKSet(keys=[published_jwk(key) for key in keys]), headers={"Cache-Control": JWKS_CACHE_CONTROL})


class SigningKeyController(Controller):
    path = "/v1/signing-keys"
    tags = ["Signing keys"]

    @get(operation_id="listSigningKeys", summary="Grant-token signing keys, newest first (platform admins)")
    async def list_keys(self, ctx: Context, limit: Limit = 50, cursor: Cursor = None) -> Page[SigningKeyOut]:
        rows, next_cursor = await service.list_keys(ctx, limit, cursor)
        return Page(items=[key_out(row, ctx.now) for row in rows], next_cursor=next_cursor)

    @post("/rotate", status_code=200, operation_id="rotateSigningKey", summary="Make a new key current; the old one verifies until its tokens expire")
    async def rotate_key(self, ctx: Context) -> SigningKeyOut:
        key = await service.rotate_key(ctx, reason="rotated through the admin API")
        return key_out(key, ctx.now)
