"""Signing keys as platform admins manage them: list and rotate (the key lifecycle itself is
:mod:`eam.signing_keys.keyring`)."""

from __future__ import annotations

from sqlalchemy import select

from eam.core.context import Context
from eam.core.paging import fetch_page
from eam.signing_keys.keyring import rotate
from eam.signing_keys.models import SigningKey


async def list_keys(ctx: Context, limit: int, cursor: str | None) -> tuple[list[SigningKey], str | None]:
    """Signing keys, newest first (platform admins)."""
    ctx.require_platform("signing_key", "read")
    stmt = select(SigningKey).order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())
    return await fetch_page(ctx.session, stmt, limit, cursor)


async def rotate_key(ctx: Context, reason: str) -> SigningKey:
    """Make a new key current; the previous one verifies until its tokens have expired."""
    ctx.require_platform("signing_key", "rotate")
    return await rotate(ctx.session, ctx.settings, ctx.audit, reason=reason)
