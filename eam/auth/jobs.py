"""Scheduled work on sign-in state."""

from __future__ import annotations

from eam.auth.sessions import forget_expired_sign_ins
from eam.core.context import Context


async def forget_ended_sign_ins(ctx: Context) -> int:
    """Browser sessions and unfinished sign-ins past their expiry (refused already)."""
    return sum(await forget_expired_sign_ins(ctx.session, ctx.now))
