"""Scheduled work on grant tokens."""

from __future__ import annotations

from eam.core.context import Context
from eam.grant_tokens.introspection import forget_expired_revocations


async def forget_spent_revocations(ctx: Context) -> int:
    """Revocations of tokens past their expiry: the token is refused anyway, the row can go."""
    return await forget_expired_revocations(ctx.session, ctx.now)
