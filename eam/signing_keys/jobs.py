"""Scheduled work on grant-token signing keys."""

from __future__ import annotations

from eam.core.context import Context
from eam.signing_keys.keyring import retire_due, rotate_if_due


async def retire_spent_keys(ctx: Context) -> int:
    """Retire previous keys whose last token has expired (their private half is erased)."""
    return await retire_due(ctx.session, ctx.audit)


async def rotate_key_if_due(ctx: Context) -> int:
    """Make a new key current when none is, or the current one has reached its age or changed
    algorithm; 1 if it rotated."""
    return 1 if await rotate_if_due(ctx.session, ctx.settings, ctx.audit) is not None else 0
